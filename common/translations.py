"""Old path of `common.i18n.translations`, kept because migrations reference
`common.translations.validate_translation_status`; new code imports the new path."""

from common.i18n.translations import validate_translation_status

__all__ = ["validate_translation_status"]
