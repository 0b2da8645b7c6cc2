"""Insight providers: functions from a chat's messages to a JSON-able result.

`base` holds the shared interface (messages, options, errors); `local` computes insights
offline and deterministically.
"""
