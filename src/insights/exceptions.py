from src.exceptions import ConflictError, NotFoundError


class UnknownInsightType(NotFoundError):
    code = "unknown_insight_type"

    def __init__(self) -> None:
        super().__init__("Insight type")


class InsightInProgress(ConflictError):
    code = "insight_in_progress"
    message = "This insight is being generated; wait for it before regenerating"
