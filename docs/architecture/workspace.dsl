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
 * The networks are found through the registry (pierrot/adapters/networks/__init__.py): the wiring, the settings,
 * the command line, the Lambda handlers and the deploy template read it, and it imports each network's module by
 * name. Relationships tagged "Runtime" are calls through a port or a callable, not imports: drawn on the dynamic
 * view only.
 */
workspace "pierrot" "Mirrors a Flickr photostream into a catalogue and posts never-posted photos to X, Bluesky, Mastodon and Threads, with alt text." {

    !impliedRelationships false

    model {
        photographer = person "Photographer" "Owns a Flickr photostream and accounts on X, Bluesky, Mastodon (or Pixelfed) and/or Threads; sets pierrot up, checks it, settles unclear posts on X."

        scheduler = softwareSystem "Scheduler" "cron, a systemd timer, or Amazon EventBridge." "External"
        flickr = softwareSystem "Flickr" "REST API (flickr.people.getPhotos, read with the API key alone) and the image CDN (live.staticflickr.com)." "External"
        xNetwork = softwareSystem "X" "API v2: POST /2/media/upload, POST /2/media/metadata, POST /2/tweets, GET /2/users/me." "External"
        bluesky = softwareSystem "Bluesky" "The account's PDS (AT Protocol XRPC): createSession, uploadBlob, putRecord under a client-chosen record key, getRecord." "External"
        mastodon = softwareSystem "Mastodon or Pixelfed" "The instance's REST API: /api/v2/instance, /api/v2/media, /api/v1/statuses with an Idempotency-Key, /api/v1/accounts." "External"
        threads = softwareSystem "Threads" "Threads Graph API: POST /me/threads (an IMAGE container), the container's status, POST /me/threads_publish, the permalink, the publishing limit, refresh_access_token. Fetches the image itself from a URL." "External"
        s3 = softwareSystem "Amazon S3" "Holds the three documents when PIERROT_STORE is s3://bucket[/prefix] (otherwise they are files in a local folder), and the cleaned images handed to Threads under pierrot-images/." "External"
        ssm = softwareSystem "AWS SSM Parameter Store" "SecureString secrets named by PIERROT_*_SSM variables (Lambda functions only); Threads' renewed token is put back in its parameter." "External"

        pierrot = softwareSystem "pierrot" "Keeps a catalogue of the photostream and posts one never-posted photo at a time to each chosen network, at most once per photo and network." {

            cli = container "pierrot CLI" "The pierrot command: sync, publish, status, history, check, resolve." "Python 3.11+, click" {
                cliCommands = component "Command line" "Parses options, loads settings, calls the service, prints one line per failure (one per failed network) with its exit code (PierrotGroup)." "pierrot/entrypoints/cli.py"
                config = component "Settings" "Every setting once (SPECS: pierrot's own, then each network's from the registry); option, then PIERROT_* variable, then TOML file, then default (load_settings); a value read by its kind, an API URL checked (config_values)." "pierrot/config.py, pierrot/config_values.py, pierrot/specs.py"
                wiring = component "Wiring" "Builds the adapter for each port from the settings, and each network's publisher through the registry with a lazy image host and a secret keeper: build_store, build_source, build_fetcher, build_publisher, network_rules, publish_options, build_checks." "pierrot/entrypoints/wiring.py"
                deployTemplate = component "Deploy template" "python -m pierrot.entrypoints.deploy_template: writes the SAM template's per-network parameters, conditions, rules, secret ARNs, PutParameter grants and variables from the registry." "pierrot/entrypoints/deploy_template.py"
                registry = component "Network registry" "NAMES and, for each, its module's NETWORK: name, display name, settings, required settings, static rules, build, read_post, secrets. An unknown name is a usage error." "pierrot/adapters/networks/__init__.py"

                publishService = component "Publish" "The multi-network run (run.py): lease check, min_interval, prepare, settle interrupted posts (settling.py), choose (choosing.py), download each size once and strip location (images.py), compose (texts.py), upload each, one claim write, post each, record each (posting.py, log.py); returns the report whatever happens per network (options.py)." "pierrot/service/publish/" "Service"
                syncService = component "Sync" "No listing, an incremental or a full one; trusts a catalogue only when the meta describes it." "pierrot/service/sync.py" "Service"
                queries = component "Queries" "status (over the networks and for each), history, run_checks, check_silence." "pierrot/service/queries.py" "Service"
                resolveService = component "Resolve" "Settles by hand an unknown or stale pending entry on one network." "pierrot/service/resolve.py" "Service"
                logAccess = component "Publish log access" "Reading the documents; the publish log's one compare-and-swap loop (update_log)." "pierrot/service/_log.py" "Service"

                domain = component "Domain" "Photo, Meta, StoredCatalogue, PublishLog, LogEntry and a photo's one state per network, Filters, eligible_in, sizes_for. No I/O." "pierrot/domain/photos.py, documents.py, publish_log.py, filters.py" "Domain"
                selection = component "Selection" "random, anniversary (3-day near window), season, popular (1 + ln(1 + faves) + 0.25 ln(1 + views)). No I/O." "pierrot/domain/selection.py" "Domain"
                compose = component "Composing" "Post text from the templates within a network's limit and measure, with variants for repeated texts; alt text within its alt limit; free text bounded and cut at a safe point (cutting.py). No I/O." "pierrot/domain/compose.py, pierrot/domain/cutting.py" "Domain"
                exif = component "Location removal" "Rebuilds JPEG, PNG, WebP and GIF without re-encoding, keeping only what shows the picture (EXIF GPS, XMP, IPTC, C2PA go); reads the pixel size. Bytes in, bytes out." "pierrot/adapters/images/exif/"

                ports = component "Ports" "DocumentStore, PhotoSource, ImageFetcher, ImageHost, Publisher; NetworkRules, Attempt, Settled, Post, HostedImage." "pierrot/ports.py"
                localStore = component "Local store" "LocalStore: a file per document, flock + sha256 token + atomic replace." "pierrot/adapters/stores/local.py"
                s3Store = component "S3 store" "S3Store: an object per document, ETag token, put_object with IfMatch / IfNoneMatch." "pierrot/adapters/stores/s3.py, boto3"
                flickrSource = component "Flickr adapter" "FlickrPhotoSource: resolve_user, summary, list_photos (500 a page, bounded retries)." "pierrot/adapters/flickr.py, pierrot/adapters/flickr_records.py, flickrapi"
                imageFetcher = component "Image adapter" "HttpImageFetcher.fetch_size: one stored size from Flickr's static hosts, under the run's byte cap, magic bytes checked." "pierrot/adapters/images/fetcher.py, requests"
                imageHost = component "Image hosting" "S3ImageHost: the cleaned image under pierrot-images/ in the store's bucket, a short-lived presigned GET URL, deleted once settled; FlickrImageHost (local store): Flickr's own URL of a size found free of location." "pierrot/adapters/images/hosting.py, boto3"
                secretKeeper = component "Secret keeper" "Keeps a secret a network renews (Threads' token): a 0600 file in pierrot's config folder, or its SSM parameter on Lambda; never in the store's documents." "pierrot/adapters/secrets.py, boto3"
                publishersBase = component "Publishers' base" "HttpPublisher: the ApiSession (no redirects, a deadline per call, a cap on answers), secrets scrubbed, one refusal line per status, rate-limit resets, a failed post mapped to refused or unknown." "pierrot/adapters/networks/base.py, pierrot/adapters/http.py, pierrot/adapters/http_failures.py, requests"
                xPublisher = component "X adapter" "XPublisher: v2 media upload and alt text, create_tweet, whoami. Refuses repeated texts; cannot settle." "pierrot/adapters/networks/x/, pierrot/adapters/networks/x/text.py, requests, tweepy"
                blueskyPublisher = component "Bluesky adapter" "BlueskyPublisher: one login per run, uploadBlob, putRecord under a TID record key, getRecord to settle, whoami." "pierrot/adapters/networks/bluesky/ (rules.py, answers.py, profile.py), requests"
                mastodonPublisher = component "Mastodon adapter" "MastodonPublisher: the instance's limits (Pixelfed recognised), media with alt text and processing wait, post with an Idempotency-Key, settle by key or by the account's statuses." "pierrot/adapters/networks/mastodon/ (rules.py, answers.py, oauth.py), requests"
                threadsPublisher = component "Threads adapter" "ThreadsPublisher: the image hosted, an IMAGE container with text and alt text, waited on until FINISHED, published once; an interrupted post settled by the container's status; the token renewed when fewer than 30 days are left." "pierrot/adapters/networks/threads/ (graph.py, rules.py), requests"
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
        pierrot -> threads "Creates an image container with the text and alt text, publishes it, looks an interrupted post up, renews the token" "HTTPS, long-lived token"
        threads -> s3 "Fetches the cleaned image through a presigned URL" "HTTPS"
        threads -> flickr "Fetches a location-free size by Flickr's URL (local store)" "HTTPS"
        pierrot -> s3 "Reads and conditionally writes the documents (or a local folder); hosts images for Threads" "S3 API"

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
        cli -> threads "Creates and publishes a container, settles, checks and renews the token" "HTTPS"
        publishFunction -> threads "Creates and publishes a container, settles, renews the token" "HTTPS"
        cli -> s3 "Hosts the cleaned image for Threads (s3:// stores)" "S3 API"
        publishFunction -> s3 "Hosts the cleaned image for Threads" "S3 API"
        syncFunction -> ssm "Reads secrets once per cold start" "GetParameters"
        publishFunction -> ssm "Reads the chosen networks' secrets once per cold start; puts Threads' renewed token back" "GetParameters, PutParameter"

        # Components
        photographer -> cliCommands "Runs check, status, history, resolve"
        scheduler -> cliCommands "Runs sync, publish and check" "cron or a systemd timer"
        syncFunction -> config "Loads settings from the environment with"
        syncFunction -> wiring "Builds adapters with"
        syncFunction -> syncService "Calls service.sync (sync_handler)"
        publishFunction -> config "Loads settings from the environment with"
        publishFunction -> wiring "Builds adapters with"
        publishFunction -> publishService "Calls service.publish (publish_handler)"
        publishFunction -> registry "Reads each network's secrets from"
        publishFunction -> secretKeeper "Keeps a renewed secret in SSM with"
        cliCommands -> config "Loads settings with"
        cliCommands -> wiring "Builds adapters with"
        cliCommands -> publishService "Calls publish"
        cliCommands -> syncService "Calls sync"
        cliCommands -> queries "Calls status, history, run_checks"
        cliCommands -> resolveService "Calls resolve"
        cliCommands -> registry "Reads the network choices and post forms from"
        config -> registry "Reads each network's settings from"
        wiring -> registry "Builds each network's publisher and rules through"
        deployTemplate -> registry "Writes the template's per-network parts from"
        registry -> xPublisher "Imports x, reads its NETWORK"
        registry -> blueskyPublisher "Imports bluesky, reads its NETWORK"
        registry -> mastodonPublisher "Imports mastodon, reads its NETWORK"
        registry -> threadsPublisher "Imports threads, reads its NETWORK"
        wiring -> localStore "Builds"
        wiring -> s3Store "Builds"
        wiring -> flickrSource "Builds"
        wiring -> imageFetcher "Builds"
        wiring -> imageHost "Builds (lazily) for the networks that fetch the image"
        wiring -> secretKeeper "Builds for the networks that renew a secret"
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
        publishService -> threadsPublisher "Calls through the Publisher port, at run time" "" "Runtime"
        threadsPublisher -> imageHost "Hosts and releases the image through ImageHost, at run time" "" "Runtime"
        threadsPublisher -> secretKeeper "Keeps its renewed token through Context.keep_secret, at run time" "" "Runtime"
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
        threadsPublisher -> ports "Implements Publisher"
        imageHost -> ports "Implements ImageHost"
        xPublisher -> publishersBase "Is an HttpPublisher"
        blueskyPublisher -> publishersBase "Is an HttpPublisher"
        mastodonPublisher -> publishersBase "Is an HttpPublisher"
        threadsPublisher -> publishersBase "Is an HttpPublisher"
        localStore -> store "Reads and writes files in a folder"
        s3Store -> store "Reads and writes objects"
        flickrSource -> flickr "flickr.people.getPhotos, findByUsername, urls.lookupUser" "flickrapi, HTTPS"
        imageFetcher -> flickr "Downloads a size from the CDN" "HTTPS"
        xPublisher -> xNetwork "Uploads media, sets alt text, creates the post, checks credentials" "HTTPS, OAuth 1.0a"
        blueskyPublisher -> bluesky "createSession, uploadBlob, putRecord, getRecord" "HTTPS, XRPC"
        mastodonPublisher -> mastodon "instance, media, statuses with Idempotency-Key, verify_credentials, account statuses" "HTTPS, bearer token"
        threadsPublisher -> threads "Container, its status, threads_publish, permalink, publishing limit, token refresh" "HTTPS, long-lived token"
        imageHost -> s3 "Puts the cleaned image, presigns a GET, deletes it once settled" "S3 API"
        secretKeeper -> ssm "PutParameter on the renewed secret's one parameter (Lambda)" "SSM API"
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

        component cli "Components" "The pierrot package: entry points, the network registry, the service modules, the domain, the ports and the adapters." {
            include *
            exclude "relationship.tag==Runtime"
            autoLayout
        }

        dynamic cli "PublishSequence" "One publish run over several networks: settle, choose, download each size once, strip location, upload each, one claim write, post each, record each." {
            cliCommands -> publishService "publish(store, fetcher, publishers, options)"
            publishService -> logAccess "Reads the publish log and the catalogue; marks dead runs' pending entries unknown"
            publishService -> blueskyPublisher "prepare: logs in once"
            publishService -> mastodonPublisher "prepare: reads the instance's limits"
            publishService -> threadsPublisher "prepare: checks the token, renews it when fewer than 30 days are left"
            threadsPublisher -> secretKeeper "Keeps the renewed token"
            publishService -> blueskyPublisher "settle: looks up the record key of each interrupted post"
            publishService -> mastodonPublisher "settle: the same post again with its Idempotency-Key, or the account's statuses"
            publishService -> threadsPublisher "settle: the container's status (published, ready to publish, expired)"
            publishService -> selection "Chooses a photo eligible on every network of the run"
            publishService -> imageFetcher "Downloads each size a network needs, once"
            publishService -> exif "Removes the location from each downloaded size"
            publishService -> compose "Composes each network's text and alt text"
            publishService -> xPublisher "upload_media (with alt text)"
            publishService -> blueskyPublisher "upload_media (blob)"
            publishService -> mastodonPublisher "upload_media (waits for processing)"
            publishService -> threadsPublisher "upload_media: hosts the image, creates the container, waits until FINISHED"
            threadsPublisher -> imageHost "Hosts the cleaned image; a presigned URL or Flickr's URL"
            publishService -> logAccess "One write: a pending entry per network, with its key"
            publishService -> xPublisher "create_post"
            publishService -> logAccess "Records X's outcome"
            publishService -> blueskyPublisher "create_post (putRecord under the key)"
            publishService -> logAccess "Records Bluesky's outcome"
            publishService -> mastodonPublisher "create_post (with the Idempotency-Key)"
            publishService -> logAccess "Records Mastodon's outcome"
            publishService -> threadsPublisher "create_post (publishes the container)"
            publishService -> logAccess "Records Threads' outcome"
            threadsPublisher -> imageHost "Releases the hosted image once settled"
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
