"""The models of the labeling app, one module per sub-domain; one app, so no table moved."""

from labeling.models.console import (  # noqa: F401
    BulkAction,
    BulkActionKind,
    BulkActionStatus,
    ItemText,
    ItemTextBacklog,
)
from labeling.models.core import (  # noqa: F401
    MAX_WORKERS_PER_ITEM,
    Annotation,
    ApiToken,
    Assignment,
    ClaimCursor,
    ConsolidatedLabel,
    ConsolidatedLabelClass,
    ConsolidationMethod,
    Item,
    Job,
    JobCounter,
    JobStatusChange,
    ReviewMode,
    ReviewStatus,
    Role,
    User,
)
from labeling.models.data import (  # noqa: F401
    ImportKind,
    ImportRun,
    JobOutput,
    StorageWrite,
)

# issue 16: pipelines' hooks
from labeling.models.pipelines import (  # noqa: F401 (issue 16: streaming, hooks)  # noqa: F401
    AnnotationHook,
    ChainLink,
    ChainPassage,
    HookCall,
    HookItem,
    HookItemStatus,
    HookKind,
    JobHooks,
    PassageStatus,
    StreamDeliveryAttempt,
    StreamDeliveryStatus,
    StreamEvent,
    StreamEventKind,
    StreamItem,
    StreamSettings,
    Taxonomy,
)
from labeling.models.quality import (  # noqa: F401
    GoldItem,
    GoldPurpose,
    JobQualityEstimate,
    WorkerQuality,
)
from labeling.models.review import (  # noqa: F401
    ItemComment,
    ItemEvent,
    ItemEventKind,
    Mention,
)
from labeling.models.task_ui import (  # noqa: F401
    CustomTemplate,
    CustomTemplateVersion,
    JobTemplate,
)
from labeling.models.workforces import (  # noqa: F401
    Earning,
    Qualification,
    Team,
    TeamInvitation,
    TeamKind,
    TeamMembership,
    TeamRole,
)
