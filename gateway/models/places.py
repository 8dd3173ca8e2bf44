"""Localities of the gazetteer: regions, cercles, communes and refugee camps."""

from __future__ import annotations

import enum

from sqlalchemy import Float, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gateway.models.base import Base, str_enum


class LocalityKind(enum.StrEnum):
    REGION = "region"
    CERCLE = "cercle"
    COMMUNE = "commune"
    CAMP = "camp"


class Locality(Base):
    __tablename__ = "localities"

    id: Mapped[int] = mapped_column(primary_key=True)
    pcode: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[LocalityKind] = mapped_column(str_enum(LocalityKind, "locality_kind"))
    name: Mapped[str] = mapped_column(String(120))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("localities.id"), index=True)
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
    country: Mapped[str] = mapped_column(String(2), default="ML")
    code_scheme: Mapped[str] = mapped_column(String(12))
    # `|`-separated other spellings, for the matcher and for display.
    aliases: Mapped[str] = mapped_column(String(2000), default="")


class Place(Base):
    """A town or village, known only to point a typed name at its commune."""

    __tablename__ = "places"
    __table_args__ = (Index("ix_places_commune", "commune_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120))
    commune_id: Mapped[int] = mapped_column(ForeignKey("localities.id"))
    kind: Mapped[str] = mapped_column(String(16), default="village")
    lat: Mapped[float | None] = mapped_column(Float)
    lon: Mapped[float | None] = mapped_column(Float)
