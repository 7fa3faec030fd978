/*
 * pierrot: the C4 model of docs/architecture.md in Structurizr DSL.
 *
 * Views: SystemContext, Containers, Components (the names of the original design's three diagrams), and
 * PublishSequence, a dynamic view of one publish run over several networks.
 * Relationships are stated at each level on purpose (implied relationships are off): the two Lambda functions
 * run the same Python package as the CLI, so deriving container relationships from component ones would
 * draw "Sync function -> pierrot CLI", which does not exist. The components are modelled once, in the CLI
 * container; the functions appear on the component view as callers of the same service (their handlers are
 * pierrot.entrypoints.aws_lambda.sync_handler and publish_handler).
 *
 * The imports rule the component view shows: the service modules reach the outside only through the ports; they
 * import no SDK and never name a network (they read each network's NetworkRules). The domain modules do no I/O.
 */
workspace "pierrot" "Mirrors a Flickr photostream into a catalogue and posts never-posted photos to X, Bluesky and Mastodon, with alt text." {

    !impliedRelationships false

    model {
        photographer = person "Photographer" "Owns a Flickr photostream and accounts on X, Bluesky and/or Mastodon (or Pixelfed); sets pierrot up, checks it, settles unclear posts on X."

        scheduler = softwareSystem "Scheduler" "cron, a systemd timer, or Amazon EventBridge." "External"
        flickr = softwareSystem "Flickr" "REST API (flickr.people.getPhotos, read with the API key alone) and the image CDN (live.staticflickr.com)." "External"
        xNetwork = softwareSystem "X" "API v2: POST /2/media/upload, POST /2/media/metadata, POST /2/tweets, GET /2/users/me." "External"
        bluesky = softwareSystem "Bluesky" "The account's PDS (AT Protocol XRPC): createSession, uploadBlob, putRecord under a client-chosen record key, getRecord." "External"
        mastodon = softwareSystem "Mastodon or Pixelfed" "The instance's REST API: /api/v2/instance, /api/v2/media, /api/v1/statuses with an Idempotency-Key, /api/v1/accounts." "External"
        s3 = softwareSystem "Amazon S3" "Holds the three documents when PIERROT_STORE is s3://bucket[/prefix]; otherwise they are files in a local folder." "External"
        ssm = softwareSystem "AWS SSM Parameter Store" "SecureString secrets named by PIERROT_*_SSM variables (Lambda functions only)." "External"

        pierrot = softwareSystem "pierrot" "Keeps a catalogue of the photostream and posts one never-posted photo at a time to each chosen network, at most once per photo and network." {

            cli = container "pierrot CLI" "The pierrot command: sync, publish, status, history, check, resolve." "Python 3.11+, click" {
                cliCommands = component "Command line" "Parses options, loads settings, calls the service, prints one line per failure (one per failed network) with its exit code (PierrotGroup)." "pierrot/entrypoints/cli.py"
                config = component "Settings" "Every setting once (SPECS); option, then PIERROT_* variable, then TOML file, then default (load_settings)." "pierrot/config.py"
                wiring = component "Wiring" "Builds the adapter for each port from the settings, and each network's publisher and rules: build_store, build_source, build_fetcher, build_publisher, network_rules, publish_options, build_checks." "pierrot/entrypoints/wiring.py"

                publishService = component "Publish" "The multi-network run: lease check, min_interval, prepare, settle interrupted posts, choose, download each size once, strip location, compose, upload each, one claim write, post each, record each; returns the report whatever happens per network." "pierrot/service/publish/" "Service"
                syncService = component "Sync" "No listing, an incremental or a full one; trusts a catalogue only when the meta describes it." "pierrot/service/sync.py" "Service"
                queries = component "Queries" "status (over the networks and for each), history, run_checks, check_silence." "pierrot/service/queries.py" "Service"
                resolveService = component "Resolve" "Settles by hand an unknown or stale pending entry on one network." "pierrot/service/resolve.py" "Service"
                logAccess = component "Publish log access" "Reading the documents; the publish log's one compare-and-swap loop (update_log)." "pierrot/service/_log.py" "Service"

                domain = component "Domain" "Photo, Meta, StoredCatalogue, PublishLog, LogEntry and a photo's one state per network, Filters, eligible_in, sizes_for. No I/O." "pierrot/domain/model.py" "Domain"
                selection = component "Selection" "random, anniversary (3-day near window), season, popular (1 + ln(1 + faves) + 0.25 ln(1 + views)). No I/O." "pierrot/domain/selection.py" "Domain"
                compose = component "Composing" "Post text within a network's limit and measure, with variants for X's repeated texts; alt text within its alt limit. No I/O." "pierrot/domain/compose.py, pierrot/adapters/networks/xtext.py" "Domain"
                exif = component "Location removal" "Strips EXIF GPS, XMP, IPTC and similar from JPEG, PNG and WebP without re-encoding; reads the pixel size." "pierrot/adapters/images/exif.py"

                ports = component "Ports" "DocumentStore, PhotoSource, ImageFetcher, Publisher; NetworkRules, Attempt, Settled, Post." "pierrot/ports.py"
                localStore = component "Local store" "LocalStore: a file per document, flock + sha256 token + atomic replace." "pierrot/adapters/stores/local.py"
                s3Store = component "S3 store" "S3Store: an object per document, ETag token, put_object with IfMatch / IfNoneMatch." "pierrot/adapters/stores/s3.py, boto3"
                flickrSource = component "Flickr adapter" "FlickrPhotoSource: resolve_user, summary, list_photos (500 a page, bounded retries)." "pierrot/adapters/flickr.py, flickrapi"
                imageFetcher = component "Image adapter" "HttpImageFetcher.fetch_size: one stored size from Flickr's static hosts, under the run's byte cap, magic bytes checked." "pierrot/adapters/images/fetcher.py, requests"
                xPublisher = component "X adapter" "XPublisher: v2 media upload and alt text, create_tweet, whoami. Refuses repeated texts; cannot settle." "pierrot/adapters/networks/x.py, requests, tweepy"
                blueskyPublisher = component "Bluesky adapter" "BlueskyPublisher: one login per run, uploadBlob, putRecord under a TID record key, getRecord to settle, whoami." "pierrot/adapters/networks/bluesky.py, requests"
                mastodonPublisher = component "Mastodon adapter" "MastodonPublisher: the instance's limits (Pixelfed recognised), media with alt text and processing wait, post with an Idempotency-Key, settle by key or by the account's statuses." "pierrot/adapters/networks/mastodon.py, requests"
            }

            syncFunction = container "Sync function" "Runs service.sync on a schedule; returns a JSON summary, raises on failure." "AWS Lambda, Python 3.12: pierrot.entrypoints.aws_lambda.sync_handler"
            publishFunction = container "Publish function" "Runs service.publish on a schedule for the networks of PIERROT_PUBLISH_NETWORKS; 'nothing to publish' is returned, any other failure raises." "AWS Lambda, Python 3.12: pierrot.entrypoints.aws_lambda.publish_handler"
            store = container "Document store" "pierrot-meta.json, pierrot-db.json, pierrot-wal.json, each with a version token for compare-and-swap writes." "JSON documents: files in a folder or S3 objects" "Database"
        }

        # System context
        photographer -> flickr "Uploads photos to"
        photographer -> pierrot "Runs check, status, history, resolve"
        scheduler -> pierrot "Runs sync daily, publish weekly, check daily"
        pierrot -> flickr "Lists public photos, downloads images" "HTTPS, API key only"
        pierrot -> xNetwork "Uploads the image with alt text, creates the post" "HTTPS, OAuth 1.0a"
        pierrot -> bluesky "Logs in, uploads the image, puts the post record, looks an interrupted post up" "HTTPS, app password"
        pierrot -> mastodon "Uploads the image with alt text, posts with an Idempotency-Key, finds an interrupted post" "HTTPS, bearer token"
        pierrot -> s3 "Reads and conditionally writes the documents (or a local folder)" "S3 API"

        # Containers
        photographer -> cli "Runs check, status, history, resolve"
        scheduler -> cli "Runs pierrot -q sync, publish --jitter, check --max-silence" "cron or a systemd timer"
        scheduler -> syncFunction "Invokes daily" "EventBridge schedule"
        scheduler -> publishFunction "Invokes weekly" "EventBridge schedule"
        cli -> store "Reads, writes conditionally"
        syncFunction -> store "Reads, writes conditionally (S3)"
        publishFunction -> store "Reads, writes conditionally (S3)"
        store -> s3 "Kept as objects in, for s3:// stores" "S3 API"
        cli -> flickr "Lists public photos, downloads images" "HTTPS"
        syncFunction -> flickr "Lists public photos" "HTTPS"
        publishFunction -> flickr "Downloads images" "HTTPS"
        cli -> xNetwork "Uploads media, posts, checks credentials" "HTTPS, OAuth 1.0a"
        cli -> bluesky "Uploads media, posts, settles, checks credentials" "HTTPS"
        cli -> mastodon "Uploads media, posts, settles, checks credentials" "HTTPS"
        publishFunction -> xNetwork "Uploads media, posts" "HTTPS, OAuth 1.0a"
        publishFunction -> bluesky "Uploads media, posts, settles" "HTTPS"
        publishFunction -> mastodon "Uploads media, posts, settles" "HTTPS"
        syncFunction -> ssm "Reads secrets once per cold start" "GetParameters"
        publishFunction -> ssm "Reads the chosen networks' secrets once per cold start" "GetParameters"

        # Components
        photographer -> cliCommands "Runs check, status, history, resolve"
        scheduler -> cliCommands "Runs sync, publish and check" "cron or a systemd timer"
        syncFunction -> config "Loads settings from the environment with"
        syncFunction -> wiring "Builds adapters with"
        syncFunction -> syncService "Calls service.sync (sync_handler)"
        publishFunction -> config "Loads settings from the environment with"
        publishFunction -> wiring "Builds adapters with"
        publishFunction -> publishService "Calls service.publish (publish_handler)"
        cliCommands -> config "Loads settings with"
        cliCommands -> wiring "Builds adapters with"
        cliCommands -> publishService "Calls publish"
        cliCommands -> syncService "Calls sync"
        cliCommands -> queries "Calls status, history, run_checks"
        cliCommands -> resolveService "Calls resolve"
        wiring -> localStore "Builds"
        wiring -> s3Store "Builds"
        wiring -> flickrSource "Builds"
        wiring -> imageFetcher "Builds"
        wiring -> xPublisher "Builds for x"
        wiring -> blueskyPublisher "Builds for bluesky"
        wiring -> mastodonPublisher "Builds for mastodon"
        publishService -> logAccess "Reads and writes the publish log through"
        syncService -> logAccess "Reads documents through"
        queries -> logAccess "Reads documents through"
        resolveService -> logAccess "Writes the publish log through"
        publishService -> domain "Uses the log's states, eligibility, sizes"
        publishService -> selection "Chooses the photo with"
        publishService -> compose "Composes each network's text and alt text with"
        publishService -> exif "Removes the location from every image with"
        syncService -> domain "Uses"
        queries -> domain "Uses"
        resolveService -> domain "Uses"
        publishService -> ports "Reaches stores, images and networks only through"
        # What the port's calls reach at run time (no import): drawn on the dynamic view only.
        publishService -> imageFetcher "Downloads sizes through ImageFetcher, at run time" "" "Runtime"
        publishService -> xPublisher "Calls through the Publisher port, at run time" "" "Runtime"
        publishService -> blueskyPublisher "Calls through the Publisher port, at run time" "" "Runtime"
        publishService -> mastodonPublisher "Calls through the Publisher port, at run time" "" "Runtime"
        syncService -> ports "Reaches the store and Flickr only through"
        queries -> ports "Reaches the store and Flickr only through"
        logAccess -> ports "Reads and writes through DocumentStore"
        compose -> domain "Reads photo records"
        selection -> domain "Reads photo records"
        localStore -> ports "Implements DocumentStore"
        s3Store -> ports "Implements DocumentStore"
        flickrSource -> ports "Implements PhotoSource"
        imageFetcher -> ports "Implements ImageFetcher"
        xPublisher -> ports "Implements Publisher"
        blueskyPublisher -> ports "Implements Publisher"
        mastodonPublisher -> ports "Implements Publisher"
        localStore -> store "Reads and writes files in a folder"
        s3Store -> store "Reads and writes objects"
        flickrSource -> flickr "flickr.people.getPhotos, findByUsername, urls.lookupUser" "flickrapi, HTTPS"
        imageFetcher -> flickr "Downloads a size from the CDN" "HTTPS"
        xPublisher -> xNetwork "Uploads media, sets alt text, creates the post, checks credentials" "HTTPS, OAuth 1.0a"
        blueskyPublisher -> bluesky "createSession, uploadBlob, putRecord, getRecord" "HTTPS, XRPC"
        mastodonPublisher -> mastodon "instance, media, statuses with Idempotency-Key, verify_credentials, account statuses" "HTTPS, bearer token"
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

        component cli "Components" "The pierrot package: entry points, the service modules, the domain, the ports and the adapters." {
            include *
            exclude "relationship.tag==Runtime"
            autoLayout
        }

        dynamic cli "PublishSequence" "One publish run over several networks: settle, choose, download each size once, strip location, upload each, one claim write, post each, record each." {
            cliCommands -> publishService "publish(store, fetcher, publishers, options)"
            publishService -> logAccess "Reads the publish log and the catalogue; marks dead runs' pending entries unknown"
            publishService -> blueskyPublisher "prepare: logs in once"
            publishService -> mastodonPublisher "prepare: reads the instance's limits"
            publishService -> blueskyPublisher "settle: looks up the record key of each interrupted post"
            publishService -> mastodonPublisher "settle: the same post again with its Idempotency-Key, or the account's statuses"
            publishService -> selection "Chooses a photo eligible on every network of the run"
            publishService -> imageFetcher "Downloads each size a network needs, once"
            publishService -> exif "Removes the location from each downloaded size"
            publishService -> compose "Composes each network's text and alt text"
            publishService -> xPublisher "upload_media (with alt text)"
            publishService -> blueskyPublisher "upload_media (blob)"
            publishService -> mastodonPublisher "upload_media (waits for processing)"
            publishService -> logAccess "One write: a pending entry per network, with its key"
            publishService -> xPublisher "create_post"
            publishService -> logAccess "Records X's outcome"
            publishService -> blueskyPublisher "create_post (putRecord under the key)"
            publishService -> logAccess "Records Bluesky's outcome"
            publishService -> mastodonPublisher "create_post (with the Idempotency-Key)"
            publishService -> logAccess "Records Mastodon's outcome"
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
            element "Service" {
                background #5a9bd5
                color #ffffff
            }
            element "Domain" {
                background #c7e0f4
                color #000000
            }
            element "External" {
                background #999999
                color #ffffff
            }
            element "Database" {
                shape Cylinder
            }
            relationship "Runtime" {
                style dashed
            }
        }
    }
}
