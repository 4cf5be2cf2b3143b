from __future__ import annotations

from django.db import models


class Note(models.Model):
    text = models.CharField(max_length=200)
    created = models.DateTimeField(auto_now_add=True)
    flagged = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["flagged", "created"], name="benchtenant_note_flagged")]

    def __str__(self) -> str:
        return self.text
