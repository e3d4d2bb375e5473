"""A document clients send again is validated once per process: the validation cache is
keyed by the validation rules, so every per-request extension must bring the same rules."""

from __future__ import annotations

from strawberry.extensions.validation_cache import _get_validate_cache

from villagegraph.schema import build_schema

UNIT = '{ unit(code: "330300000000") { code name } }'


async def test_a_repeated_document_is_validated_from_the_cache():
    schema = build_schema()
    cache = _get_validate_cache(512)
    await schema.execute(UNIT)
    before = cache.cache_info()
    for _ in range(3):
        await schema.execute(UNIT)
    after = cache.cache_info()
    assert after.misses == before.misses
    assert after.hits == before.hits + 3
