"""Database sessions, read by a lookup compiled once (see compiled.py).

Every page reads its session first; building and compiling Django's session query took longer
than running it. Expiry is checked here instead of in the SQL, so the query's only parameter
is the key. With a shared cache (REDIS_URL) Django's cached_db engine is used instead.
"""

from __future__ import annotations

from typing import Any

from django.contrib.sessions.backends import db
from django.contrib.sessions.models import Session
from django.db import router
from django.db.models import QuerySet
from django.utils import timezone

from requests_app import compiled


def _session(key: str) -> QuerySet[Session]:
    return Session.objects.filter(session_key=key)


class SessionStore(db.SessionStore):
    def _get_session_from_db(self) -> Any:
        if self.session_key is None:
            return None
        using = router.db_for_read(self.model)
        session = compiled.first(_session, self.session_key, using=using)
        if session is None or session.expire_date <= timezone.now():
            self._session_key = None
            return None
        return session
