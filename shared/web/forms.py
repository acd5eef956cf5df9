"""Page forms are checked by the API's own marshmallow schemas, so a page accepts exactly
what the API accepts and shows the same reasons, next to the field they concern."""
from flask import request
from marshmallow import ValidationError, fields

from shared.errors import ApiError
from shared.runtime import current_service

from .i18n import is_chinese, localized

FORM = "_form"  # errors that concern no single field


def _split(values: list[str]) -> list[str]:
    """A list field arrives as repeated inputs or as one box of comma/line separated items."""
    items = []
    for value in values:
        items.extend(p.strip() for p in value.replace("，", ",").replace("\n", ",").split(","))
    return [item for item in items if item]


def form_input(schema, source=None) -> dict:
    """The submitted form as the schema's input: blanks left out, lists gathered."""
    source = request.form if source is None else source
    data = {}
    for name, field in schema.fields.items():
        key = field.data_key or name
        if field.dump_only or key not in source:
            continue
        if isinstance(field, fields.List):
            data[key] = _split(source.getlist(key))
        elif source.get(key, "").strip():  # a ticked checkbox sends "on", a true value
            data[key] = source.get(key).strip()
    return data


def api_error_messages(exc: ApiError) -> dict:
    if exc.fields:
        return localized(exc.fields)
    return {FORM: [exc.message_zh if is_chinese() else exc.message]}


def attempt(action, *args):
    """(result, {}) when the action succeeds, or (None, errors by field) for the 4xx
    ApiError it raises (nothing it left pending is kept)."""
    try:
        return action(*args), {}
    except ApiError as exc:
        if exc.status >= 500:
            raise
        current_service().spec.db.session.rollback()
        return None, api_error_messages(exc)


def submit(schema, action, source=None):
    """Check the form with the API's schema, then run the action on the data: (result, {})
    or (None, errors by field)."""
    try:
        data = schema.load(form_input(schema, source))
    except ValidationError as exc:
        return None, localized(exc.messages)
    return attempt(action, data)
