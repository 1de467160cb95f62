"""Streaming multipart/form-data parsing into ``request.files`` and ``request.body_params``.

Rules:
- ``MultipartFileError`` is what reading a file's queue raises when its upload did not complete.
"""


class MultipartFileError(Exception):
    """A multipart file upload was aborted or failed before the handler read all of it."""

    def __init__(self, cause: BaseException | None = None) -> None:
        super().__init__("Multipart file upload did not complete")
        self.cause = cause
