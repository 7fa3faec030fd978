"""The texts of a post and its alt text: composed from the templates by the rules of each network in force."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

from pierrot.domain import BLOCKING, FAILED, PUBLISHED, UNKNOWN, Photo, PublishLog, StoredCatalogue, compose
from pierrot.domain.filters import normalise_tag
from pierrot.errors import ConfigError, DocumentError, PublishError
from pierrot.ports import FetchedImage, NetworkRules, PostOptions
from pierrot.service.publish.options import NetworkOptions, PublishOptions
from pierrot.service.publish.state import RunState

# The reason of a failed entry whose text X already had: the next run avoids that text.
DUPLICATE_TEXT_REASON = "the network refused the text as a duplicate of an earlier post"


def _invalid_templates(options: PublishOptions, rules: dict[str, NetworkRules]) -> dict[str, ConfigError]:
    """The networks whose rules the templates cannot fit, each with its error (naming the network)."""
    problems: dict[str, ConfigError] = {}
    for network in options.networks:
        if network.name not in rules:
            continue
        limits = rules[network.name]
        try:
            compose.validate_template(options.template_for(network), network.template_setting,
                                      measure=limits.measure, limit=limits.text_limit)
            compose.validate_template(options.alt_template_for(network), network.alt_template_setting, measure=len,
                                      limit=limits.alt_limit)
        except ConfigError as exc:
            problems[network.name] = ConfigError(f"{limits.display}: {exc}")
    return problems


def _measure(rules: NetworkRules) -> Callable[[str], int]:
    """The network's measure of a text; over its byte cap too, where it has one, counts as over the limit."""

    def measure(text: str) -> int:
        if rules.max_text_bytes is not None and len(text.encode()) > rules.max_text_bytes:
            return rules.text_limit + 1
        return rules.measure(text)

    return measure


def _texts(
    options: PublishOptions,
    network: NetworkOptions,
    rules: NetworkRules,
    photo: Photo,
    catalogue: StoredCatalogue,
    plog: PublishLog,
    context: dict[str, str],
    carried: Sequence[Photo] = (),
) -> Iterator[str]:
    """The texts to try for ``photo`` (with the other photos ``carried``) on a network, best first; on one that
    refuses a repeated text, none equal to an earlier post's there."""

    measure = _measure(rules)
    limit = rules.text_limit
    warning = post_options(options, rules, photo, *carried).warning
    if warning and rules.warnings == "spoiler":  # a spoiler text counts against the post's limit
        limit = max(rules.text_limit - rules.measure(warning), 0)
    variants = compose.compose_post_variants(
        photo, options.template_for(network), options.link, measure=measure, limit=limit,
        setting=network.template_setting, context=context,
    )
    if not rules.refuses_repeated_text:
        yield next(variants)
        return
    own = [e for e in plog.entries if e.photo_id == photo.id and e.network == rules.name]
    unsettled = [e for e in own if e.state == UNKNOWN and e.text]
    if unsettled:
        # An earlier attempt may have been posted: the same text again makes a duplicate answer a proof.
        yield unsettled[-1].text or ""
    # Every text that is or may be on the network, but this photo's own unsettled ones (tried first, above).
    used = {e.text for e in plog.entries if e.network == rules.name and e.text is not None
            and (e.status in BLOCKING or (e.reason or "").startswith(DUPLICATE_TEXT_REASON))
            and (e.photo_id != photo.id or e.state in (PUBLISHED, FAILED))}
    used |= _legacy_texts(options, network, rules, photo, catalogue, plog)
    for text in variants:
        if text not in used:
            used.add(text)
            yield text


def _legacy_texts(
    options: PublishOptions,
    network: NetworkOptions,
    rules: NetworkRules,
    photo: Photo,
    catalogue: StoredCatalogue,
    plog: PublishLog,
) -> set[str]:
    """Texts of posts logged before pierrot kept the text: recomposed for the photos titled like this one."""
    title = photo.title or None
    texts: set[str] = set()
    legacy = [e for e in plog.entries if e.network == rules.name and e.text is None
              and e.status in BLOCKING and e.title == title and e.photo_id != photo.id]
    for entry in legacy[-200:]:
        index = catalogue.index_of(entry.photo_id)
        if index is None:
            continue
        try:
            texts.add(compose.compose_post(catalogue.photo(index), options.template_for(network), options.link,
                                           measure=_measure(rules), limit=rules.text_limit,
                                           setting=network.template_setting))
        except (DocumentError, ConfigError):
            continue
    return texts


def post_options(options: PublishOptions, rules: NetworkRules, *photos: Photo) -> PostOptions:
    """What the post of ``photos`` carries besides its text on this network: its language and, when any of them has
    a sensitive tag, the warning (each only where the network takes it). The same for every attempt at the post."""
    return PostOptions(
        language=options.language if rules.languages else None,
        warning=options.content_warning if _sensitive(options, *photos) and rules.warnings != "none" else None,
    )


def _sensitive(options: PublishOptions, *photos: Photo) -> bool:
    """Whether any of the photos has one of the tags that put a post behind a warning."""
    sensitive = {normalise_tag(t) for t in options.sensitive_tags}
    return any(sensitive & {normalise_tag(t) for t in photo.tags} for photo in photos)


class Composing(RunState):
    """The run's step that composes each network's text and alt text for the chosen photo."""

    def _context(self, photo: Photo, image: FetchedImage | None = None) -> dict[str, str]:
        from pierrot.domain import selection

        today = self._today()
        camera = image.camera if image is not None else None
        return {"years_ago": selection.years_ago_text(photo, today), "month": selection.month_name(today),
                "hashtags": compose.hashtags(photo.tags, self.options.hashtags),
                **({"camera": camera.camera, "lens": camera.lens, "exposure": camera.exposure} if camera else {})}

    def _alt(self, photo: Photo, network: NetworkOptions, rules: NetworkRules, image: FetchedImage) -> str | None:
        if not self.options.alt_text:
            return None
        return compose.compose_alt_text(photo, self.options.alt_template_for(network), limit=rules.alt_limit,
                                        setting=network.alt_template_setting, context=self._context(photo, image))

    def _compose(
        self, name: str, photo: Photo, catalogue: StoredCatalogue, plog: PublishLog, image: FetchedImage
    ) -> None:
        network = next(n for n in self.options.networks if n.name == name)
        rules, result = self.rules[name], self.results[name]
        context = self._context(photo, image)
        carried = [c.photo for c in result.also]  # _carry came first: a companion with a sensitive tag counts
        texts = _texts(self.options, network, rules, photo, catalogue, plog, context, carried)
        result.photo_id = photo.id
        text = next(texts, None)
        if text is None:
            raise PublishError(
                f"every text pierrot can make for photo {photo.id} is already on {rules.display} (a title many photos "
                "share, with no date taken): add {date_taken}, {description} or {url} to [publish] template"
            )
        result.text = text
        result.length, result.limit, result.unit = rules.measure(result.text), rules.text_limit, rules.unit
        result.alt_text = self._alt(photo, network, rules, image)
        extra = post_options(self.options, rules, photo, *carried)
        result.language, result.warning, result.hashtags = extra.language, extra.warning, context["hashtags"]
        result.sensitive, result.warning_kind = _sensitive(self.options, photo, *carried), rules.warnings
        result.alt_limit = rules.alt_limit
        result.image = image
        self._texts[name] = texts

