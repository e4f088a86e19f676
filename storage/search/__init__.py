"""Search that understands what a parent types (issue 12).

- ``analyzer``: folding, words, Snowball stems, stop words — the same for index and query;
- ``thesaurus`` (+ ``thesaurus.toml``): everyday, slang and English words → subject stems;
- ``query``: filters named in the text (age, price, format, near, ОВЗ, municipality);
- ``vocabulary``: typo matching over the indexed stems (rapidfuzz), cached per engine;
- ``ranking``: query words → groups of alternative stems → ranked portable SQL;
- ``service``: what ``CatalogRepo.search`` runs; ``misses``: the zero-result log.
"""
