"""The small error hierarchy; edges (CLI, HTTP) translate these into messages and codes."""


class TownsquareError(Exception):
    """Base class of every error Townsquare raises on purpose."""


class ConfigError(TownsquareError):
    """A setting is missing or has a bad value."""


class IndexStateError(TownsquareError):
    """The index directory is missing, damaged, or was built with another model."""


class ModelMismatchError(IndexStateError):
    """The index was built with a different embedding model than the one configured."""


class IngestError(TownsquareError):
    """An ingest could not complete; the previous index keeps serving."""


class NotFoundError(TownsquareError):
    """A thread, resource or member does not exist (or is not visible to the caller)."""


class BadQueryError(TownsquareError):
    """A question, filter or parameter is not acceptable."""
