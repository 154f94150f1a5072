"""Topic relevance: a text model per topic on top of the rules, taught by shipped examples and curators.

`model` fits and scores (no database), `cues` and `examples` are what default topics ship with
(`labelled` reads the hand-labelled papers the examples come from), `loading` builds the tagger of
the active topics and caches it per process, `selectors` answers the admin's questions (which
papers sit near a topic's threshold).
"""
