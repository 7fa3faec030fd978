/*
 * pierrot: the C4 model of docs/architecture.md in Structurizr DSL.
 *
 * Views: SystemContext, Containers, Components (the names of the original design's three diagrams).
 * Relationships are stated at each level on purpose (implied relationships are off): the two Lambda functions
 * run the same Python package as the CLI, so deriving container relationships from component ones would
 * draw "Sync function -> pierrot CLI", which does not exist. The components are modelled once, in the CLI
 * container; the functions appear on the component view as callers of the same service (their handlers are
 * pierrot.aws_lambda.sync_handler and publish_handler).
 */
workspace "pierrot" "Mirrors a Flickr photostream into a catalogue and posts never-posted photos to X, with alt text." {

    !impliedRelationships false

    model {
        photographer = person "Photographer" "Owns a Flickr photostream and an X account; sets pierrot up, checks it, settles unclear posts."

        scheduler = softwareSystem "Scheduler" "cron, a systemd timer, or Amazon EventBridge." "External"
        flickr = softwareSystem "Flickr" "REST API (flickr.people.getPhotos, read with the API key alone) and the image CDN (live.staticflickr.com)." "External"
        xNetwork = softwareSystem "X" "API v2: POST /2/media/upload, POST /2/media/metadata, POST /2/tweets, GET /2/users/me." "External"
        s3 = softwareSystem "Amazon S3" "Holds the three documents when PIERROT_STORE is s3://bucket[/prefix]; otherwise they are files in a local folder." "External"
        ssm = softwareSystem "AWS SSM Parameter Store" "SecureString secrets named by PIERROT_*_SSM variables (Lambda functions only)." "External"

        pierrot = softwareSystem "pierrot" "Keeps a catalogue of the photostream and posts one never-posted photo at a time to X, at most once per photo." {

            cli = container "pierrot CLI" "The pierrot command: sync, publish, status, history, check, resolve." "Python 3.11+, click" {
                cliCommands = component "Command line" "Parses options, loads settings, calls the service, prints one line per failure with its exit code (PierrotGroup)." "pierrot/cli.py"
                config = component "Settings" "Every setting once (SPECS); option, then PIERROT_* variable, then TOML file, then default (load_settings)." "pierrot/config.py"
                wiring = component "Wiring" "Builds the adapter for each port from the settings: build_store, build_source, build_fetcher, build_publisher, build_checks." "pierrot/wiring.py"
                service = component "Service" "The use cases: sync, publish, status, history, resolve, run_checks." "pierrot/service.py"
                domain = component "Domain" "Photo, Catalogue, Meta, PublishLog, LogEntry, Filters, eligible_photos, choose. No I/O." "pierrot/domain.py"
                compose = component "Composing" "Post text within 280 weighted characters and alt text within 1000: compose_post, compose_alt_text." "pierrot/compose.py"
                ports = component "Ports" "DocumentStore, PhotoSource, ImageFetcher, Publisher." "pierrot/ports.py"
                localStore = component "Local store" "LocalStore: a file per document, flock + sha256 token + atomic replace." "pierrot/stores/local.py"
                s3Store = component "S3 store" "S3Store: an object per document, ETag token, put_object with IfMatch / IfNoneMatch." "pierrot/stores/s3.py, boto3"
                flickrSource = component "Flickr adapter" "FlickrPhotoSource: resolve_user, summary, list_photos (500 a page, bounded retries)." "pierrot/flickr.py, flickrapi"
                imageFetcher = component "Image adapter" "HttpImageFetcher: largest size under 5 MB from Flickr's static hosts, magic bytes checked." "pierrot/images.py, requests"
                xPublisher = component "X adapter" "XPublisher: v2 media upload and alt text, create_tweet, whoami." "pierrot/x.py, requests, tweepy"
            }

            syncFunction = container "Sync function" "Runs service.sync on a schedule; returns a JSON summary, raises on failure." "AWS Lambda, Python 3.12: pierrot.aws_lambda.sync_handler"
            publishFunction = container "Publish function" "Runs service.publish on a schedule; 'nothing to publish' is returned, any other failure raises." "AWS Lambda, Python 3.12: pierrot.aws_lambda.publish_handler"
            store = container "Document store" "pierrot-meta.json, pierrot-db.json, pierrot-wal.json, each with a version token for compare-and-swap writes." "JSON documents: files in a folder or S3 objects" "Database"
        }

        # System context
        photographer -> flickr "Uploads photos to"
        photographer -> pierrot "Runs check, status, history, resolve"
        scheduler -> pierrot "Runs sync daily, publish weekly"
        pierrot -> flickr "Lists public photos, downloads one image" "HTTPS, API key only"
        pierrot -> xNetwork "Uploads the image, sets alt text, creates the post" "HTTPS, OAuth 1.0a"
        pierrot -> s3 "Reads and conditionally writes the documents (or a local folder)" "S3 API"

        # Containers
        photographer -> cli "Runs check, status, history, resolve"
        scheduler -> cli "Runs pierrot -q sync daily, pierrot -q publish weekly" "cron or a systemd timer"
        scheduler -> syncFunction "Invokes daily" "EventBridge schedule"
        scheduler -> publishFunction "Invokes weekly" "EventBridge schedule"
        cli -> store "Reads, writes conditionally"
        syncFunction -> store "Reads, writes conditionally (S3)"
        publishFunction -> store "Reads, writes conditionally (S3)"
        store -> s3 "Kept as objects in, for s3:// stores" "S3 API"
        cli -> flickr "Lists public photos, downloads images" "HTTPS"
        syncFunction -> flickr "Lists public photos" "HTTPS"
        publishFunction -> flickr "Downloads one image" "HTTPS"
        cli -> xNetwork "Uploads media, sets alt text, posts" "HTTPS, OAuth 1.0a"
        publishFunction -> xNetwork "Uploads media, sets alt text, posts" "HTTPS, OAuth 1.0a"
        syncFunction -> ssm "Reads secrets once per cold start" "GetParameters"
        publishFunction -> ssm "Reads secrets once per cold start" "GetParameters"

        # Components
        photographer -> cliCommands "Runs check, status, history, resolve"
        scheduler -> cliCommands "Runs sync and publish" "cron or a systemd timer"
        syncFunction -> config "Loads settings from the environment with"
        syncFunction -> wiring "Builds adapters with"
        syncFunction -> service "Calls service.sync (sync_handler)"
        publishFunction -> config "Loads settings from the environment with"
        publishFunction -> wiring "Builds adapters with"
        publishFunction -> service "Calls service.publish (publish_handler)"
        cliCommands -> config "Loads settings with"
        cliCommands -> wiring "Builds adapters with"
        cliCommands -> service "Calls"
        wiring -> localStore "Builds"
        wiring -> s3Store "Builds"
        wiring -> flickrSource "Builds"
        wiring -> imageFetcher "Builds"
        wiring -> xPublisher "Builds"
        service -> domain "Uses"
        service -> compose "Composes post and alt text with"
        service -> ports "Reaches the outside only through"
        compose -> domain "Reads photo records"
        localStore -> ports "Implements DocumentStore"
        s3Store -> ports "Implements DocumentStore"
        flickrSource -> ports "Implements PhotoSource"
        imageFetcher -> ports "Implements ImageFetcher"
        xPublisher -> ports "Implements Publisher"
        localStore -> store "Reads and writes files in a folder"
        s3Store -> store "Reads and writes objects"
        flickrSource -> flickr "flickr.people.getPhotos, findByUsername, urls.lookupUser" "flickrapi, HTTPS"
        imageFetcher -> flickr "Downloads one size from the CDN" "HTTPS"
        xPublisher -> xNetwork "Uploads media, sets alt text, creates the post, checks credentials" "HTTPS, OAuth 1.0a"
    }

    views {
        systemContext pierrot "SystemContext" "pierrot in its context." {
            include *
            autoLayout
        }

        container pierrot "Containers" "The CLI, the two Lambda functions and the document store." {
            include *
            autoLayout
        }

        component cli "Components" "The pierrot package: entry points, service, domain, ports and adapters." {
            include *
            autoLayout
        }

        styles {
            element "Person" {
                shape Person
                background #08427b
                color #ffffff
            }
            element "Software System" {
                background #1168bd
                color #ffffff
            }
            element "Container" {
                background #438dd5
                color #ffffff
            }
            element "Component" {
                background #85bbf0
                color #000000
            }
            element "External" {
                background #999999
                color #ffffff
            }
            element "Database" {
                shape Cylinder
            }
        }
    }
}
