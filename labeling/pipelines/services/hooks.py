"""The hook registry: HTTP endpoints and allowed Python callables, and the hooks a job names.

A hook belongs to the manager who registered it (superusers see all); only its owner may
change it, delete it or name it on a job. An HTTP hook's URL passes the outbound-URL rules at
registration (``labeling/outbound.py``; internal addresses only where the operator's
``QUORUM_OUTBOUND_ALLOW`` says so) and again at every call; its secret is stored encrypted
and signs every call. A callable hook names a dotted path that ``QUORUM_HOOK_CALLABLES`` lists.
"""

import re
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.db import IntegrityError, transaction

from labeling.crypto import secret_decrypt, secret_encrypt
from labeling.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from labeling.models import AnnotationHook, Job, JobHooks, User
from labeling.outbound import OutboundRefused, outbound_check_url
from labeling.states import JobStatus

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
ARN_RE = re.compile(r"^arn:aws[a-z\-]*:lambda:[a-z0-9\-]*:[0-9]{12}:function:[A-Za-z0-9_\-]+$")
MIN_TIMEOUT_SECONDS = 0.1
MAX_TIMEOUT_SECONDS = 300.0
# The managed service's own functions: the control plane maps them to built-in task types.
MANAGED_FUNCTION_PREFIXES = ("PRE-", "ACS-")


def hooks_visible(*, user: User):
    """The hooks ``user`` may see and use: their own (a superuser's: all)."""
    hooks = AnnotationHook.objects.order_by("name", "id")
    return hooks if user.is_superuser else hooks.filter(owner_id=user.pk)


def hook_get_for_user(*, hook_id: int, user: User) -> AnnotationHook:
    hook = hooks_visible(user=user).filter(pk=hook_id).first()
    if hook is None:
        raise NotFound(f"there is no hook {hook_id} that you can see")
    return hook


def hook_secret(hook: AnnotationHook) -> str:
    return secret_decrypt(hook.secret_encrypted) if hook.secret_encrypted else ""


def _check_name(name: str) -> str:
    name = (name or "").strip()
    if not NAME_RE.match(name):
        raise ValidationFailed(
            "a hook's name is 1-64 letters, digits, '_', '-' or '.', starting with a letter "
            "or digit",
            details={"field": "name"},
        )
    return name


def _check_url(url: str) -> str:
    try:
        outbound_check_url(url)
    except OutboundRefused as exc:
        raise ValidationFailed(
            f"url: {exc.message}", details={"field": "url", "reason": exc.reason}
        ) from None
    return url


def hook_callable_allowed(path: str) -> bool:
    return path in settings.QUORUM_HOOK_CALLABLES


def _check_callable(path: str) -> str:
    if not hook_callable_allowed(path):
        raise ValidationFailed(
            f"callable_path: {path!r} is not one of the dotted paths the operator allows "
            "(QUORUM_HOOK_CALLABLES)",
            details={"field": "callable_path"},
        )
    return path


def _check_timeout(timeout: float) -> float:
    try:
        value = float(timeout)
    except (TypeError, ValueError):
        value = -1.0
    if not MIN_TIMEOUT_SECONDS <= value <= MAX_TIMEOUT_SECONDS:
        raise ValidationFailed(
            f"timeout_seconds is between {MIN_TIMEOUT_SECONDS} and {MAX_TIMEOUT_SECONDS}",
            details={"field": "timeout_seconds"},
        )
    return value


def _check_arn(arn: str) -> str:
    arn = (arn or "").strip()
    if arn and not ARN_RE.match(arn):
        raise ValidationFailed(
            "arn: a Lambda function ARN, arn:aws:lambda:<region>:<account>:function:<name>",
            details={"field": "arn"},
        )
    if arn and arn.rsplit(":", 1)[1].startswith(MANAGED_FUNCTION_PREFIXES):
        raise ValidationFailed(
            "arn: PRE-/ACS- functions are the managed service's built-in ones",
            details={"field": "arn"},
        )
    return arn


@dataclass(frozen=True)
class CreatedHook:
    hook: AnnotationHook
    secret: str  # shown once, at registration (an HTTP hook's; "" for a callable)


def hook_create(
    *,
    owner: User,
    name: str,
    url: str = "",
    callable_path: str = "",
    secret: str = "",
    timeout_seconds: float = 10.0,
    arn: str = "",
) -> CreatedHook:
    """Register a hook: an HTTP ``url`` or a ``callable_path``, exactly one. An HTTP hook
    without a ``secret`` gets a random one (returned once)."""
    if bool(url) == bool(callable_path):
        raise ValidationFailed(
            "a hook is either an HTTP url or a callable_path: give exactly one",
            details={"field": "url"},
        )
    name = _check_name(name)
    if url:
        _check_url(url)
        secret = secret or secrets.token_urlsafe(32)
    else:
        _check_callable(callable_path)
        secret = ""
    hook = AnnotationHook(
        owner=owner,
        name=name,
        url=url,
        callable_path=callable_path,
        secret_encrypted=secret_encrypt(secret) if secret else "",
        timeout_seconds=_check_timeout(timeout_seconds),
        arn=_check_arn(arn),
    )
    try:
        with transaction.atomic():
            hook.save()
    except IntegrityError:
        raise Conflict(
            f"a hook named {name!r} (or with that ARN) is already registered",
            code="duplicate_hook",
        ) from None
    return CreatedHook(hook=hook, secret=secret)


def hook_update(
    *,
    hook: AnnotationHook,
    url: str | None = None,
    callable_path: str | None = None,
    secret: str | None = None,
    timeout_seconds: float | None = None,
    arn: str | None = None,
) -> AnnotationHook:
    """Change what was given; the hook stays either HTTP or callable."""
    fields = []
    if url is not None:
        if not hook.url:
            raise ValidationFailed("this hook is a callable, not a URL", details={"field": "url"})
        hook.url = _check_url(url)
        fields.append("url")
    if callable_path is not None:
        if not hook.callable_path:
            raise ValidationFailed(
                "this hook is a URL, not a callable", details={"field": "callable_path"}
            )
        hook.callable_path = _check_callable(callable_path)
        fields.append("callable_path")
    if secret is not None and hook.url:
        hook.secret_encrypted = secret_encrypt(secret) if secret else ""
        fields.append("secret_encrypted")
    if timeout_seconds is not None:
        hook.timeout_seconds = _check_timeout(timeout_seconds)
        fields.append("timeout_seconds")
    if arn is not None:
        hook.arn = _check_arn(arn)
        fields.append("arn")
    if fields:
        try:
            with transaction.atomic():
                hook.save(update_fields=fields)
        except IntegrityError:
            raise Conflict("another hook has that ARN", code="duplicate_hook") from None
    return hook


def hook_delete(*, hook: AnnotationHook) -> None:
    if (
        JobHooks.objects.filter(pre_hook=hook).exists()
        or JobHooks.objects.filter(consolidation_hook=hook).exists()
    ):
        raise Conflict("a job names this hook; take it off the job first", code="hook_in_use")
    hook.delete()


def job_hooks_of(job_id: int) -> JobHooks | None:
    return (
        JobHooks.objects.select_related("pre_hook", "consolidation_hook")
        .filter(job_id=job_id)
        .first()
    )


def job_hooks_set(
    *,
    job: Job,
    by: User,
    pre_hook_id: int | None,
    consolidation_hook_id: int | None,
    payload_inline: bool = False,
) -> JobHooks:
    """Name a job's hooks (None: none). Only a draft job's pre-annotation hook may change (its
    items are held at import); the consolidation hook may change while the job runs.

    Every manager may name their own hooks on any job (jobs are shared), but a hook another
    manager named stays theirs: only its owner or the job's creator may replace or remove it,
    or change how its payload is sent (the others cannot see where it points, either)."""
    with transaction.atomic():
        current = (
            # of=self: PostgreSQL locks no nullable side of the outer joins to the hooks
            JobHooks.objects.select_for_update(of=("self",))
            .select_related("pre_hook", "consolidation_hook")
            .filter(job=job)
            .first()
        )
        # A hook the job names already may be named again (kept) by a manager who cannot see
        # it; any other must be one the caller may use.
        pre = _named(pre_hook_id, current.pre_hook if current else None, by)
        consolidation = _named(
            consolidation_hook_id, current.consolidation_hook if current else None, by
        )
        if current is not None:
            _check_may_change(
                current,
                job=job,
                by=by,
                pre=pre,
                consolidation=consolidation,
                payload_inline=payload_inline,
            )
        old_pre = current.pre_hook_id if current else None
        if job.status != JobStatus.DRAFT and old_pre != (pre.pk if pre else None):
            raise Conflict(
                "a job's pre-annotation hook is set while it is a draft, before its items come",
                code="job_not_draft",
            )
        hooks, _ = JobHooks.objects.update_or_create(
            job=job,
            defaults={
                "pre_hook": pre,
                "consolidation_hook": consolidation,
                "payload_inline": payload_inline,
            },
        )
    return hooks


def _named(hook_id: int | None, current: AnnotationHook | None, by: User) -> AnnotationHook | None:
    """The hook ``hook_id`` names: the job's current one (kept, seen or not), else one of
    ``by``'s; None for none."""
    if not hook_id:
        return None
    if current is not None and current.pk == hook_id:
        return current
    return hook_get_for_user(hook_id=hook_id, user=by)


def _check_may_change(
    current: JobHooks,
    *,
    job: Job,
    by: User,
    pre: AnnotationHook | None,
    consolidation: AnnotationHook | None,
    payload_inline: bool,
) -> None:
    """Refuse (403) a change to a hook another manager named, unless ``by`` created the job."""
    if by.is_superuser or by.pk == job.created_by_id:
        return
    named = (
        ("pre-annotation", current.pre_hook, pre),
        ("consolidation", current.consolidation_hook, consolidation),
    )
    for kind, hook, wanted in named:
        if hook is None or hook.owner_id == by.pk:
            continue
        changed = wanted is None or wanted.pk != hook.pk
        if changed or (kind == "consolidation" and payload_inline != current.payload_inline):
            raise NotAllowed(
                f"the job's {kind} hook {hook.name!r} is another manager's: only its owner or "
                "the job's creator may replace or remove it"
            )


def hook_for_lambda_arn(*, arn: str, user: User) -> AnnotationHook | None:
    """The hook a control-plane request's Lambda ARN names: the one registered with that
    ``arn``, else the caller's hook named like the ARN's function; None for the managed
    service's own PRE-/ACS- functions (built-in task types) and for unknown ones."""
    match = ARN_RE.match(arn or "")
    if match is None:
        return None
    function = arn.rsplit(":", 1)[1]
    if function.startswith(MANAGED_FUNCTION_PREFIXES):
        return None
    visible = hooks_visible(user=user)
    return visible.filter(arn=arn).first() or visible.filter(name=function).first()


@dataclass(frozen=True)
class LambdaHooks:
    """The hooks a CreateLabelingJob's HumanTaskConfig names by Lambda ARN, and the config
    without those ARNs (what is left names the managed service's built-in functions)."""

    pre: AnnotationHook | None
    consolidation: AnnotationHook | None
    config: dict

    @property
    def custom_task(self) -> bool:
        """A custom workflow: a hook prepares the task and no managed task UI is named."""
        return self.pre is not None and not (self.config.get("UiConfig") or {}).get(
            "HumanTaskUiArn"
        )


PRE_ARN_FIELD = "HumanTaskConfig.PreHumanTaskLambdaArn"
CONSOLIDATION_ARN_FIELD = (
    "HumanTaskConfig.AnnotationConsolidationConfig.AnnotationConsolidationLambdaArn"
)


def _lambda_hook(arn: str, *, field: str, user: User) -> AnnotationHook | None:
    match = ARN_RE.match(arn or "")
    if match is None or arn.rsplit(":", 1)[1].startswith(MANAGED_FUNCTION_PREFIXES):
        return None
    hook = hook_for_lambda_arn(arn=arn, user=user)
    if hook is None:
        raise ValidationFailed(
            f"{field}: {arn} is neither a managed PRE-/ACS- function nor a hook of yours: "
            "register one (POST /api/v1/hooks) with this arn, or named like the function",
            details={"field": field},
        )
    return hook


def hooks_from_lambda_arns(*, config: dict, user: User) -> LambdaHooks:
    """Map a HumanTaskConfig's custom Lambda ARNs onto registered hooks (the control plane's
    CreateLabelingJob). Raises ValidationFailed for a custom ARN that names no hook."""
    stripped = dict(config)
    pre = _lambda_hook(config.get("PreHumanTaskLambdaArn", ""), field=PRE_ARN_FIELD, user=user)
    if pre is not None:
        stripped.pop("PreHumanTaskLambdaArn")
    consolidation_config = config.get("AnnotationConsolidationConfig") or {}
    consolidation = _lambda_hook(
        consolidation_config.get("AnnotationConsolidationLambdaArn", ""),
        field=CONSOLIDATION_ARN_FIELD,
        user=user,
    )
    if consolidation is not None:
        stripped.pop("AnnotationConsolidationConfig")
    return LambdaHooks(pre=pre, consolidation=consolidation, config=stripped)


def job_hooks_from_lambdas(*, job: Job, hooks: LambdaHooks, by: User) -> JobHooks | None:
    """Name the mapped hooks on the control plane's new (draft) job."""
    if hooks.pre is None and hooks.consolidation is None:
        return None
    return job_hooks_set(
        job=job,
        by=by,
        pre_hook_id=hooks.pre.pk if hooks.pre else None,
        consolidation_hook_id=hooks.consolidation.pk if hooks.consolidation else None,
    )
