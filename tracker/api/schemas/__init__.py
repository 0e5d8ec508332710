"""The API's schemas, one module a domain: they validate requests, dump answers and make the OpenAPI document.

Each answer's shape is written once, here: a schema dumps the model or the service's result object
itself. Import a schema from its module (tracker.api.schemas.checkins, ...); nothing is re-exported.
"""
