"""Profiles of the synthetic university: which shapes of real Guaraní data it has."""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

# Columns that some deployment holds as another type, and the type the variant source gives them.
# `simple` keeps the one variant the generator always had; `realistic` has every documented one.
SIMPLE_VARIANTS = {("sga_llamados_mesa", "fecha"): "timestamptz"}
REALISTIC_VARIANTS = {
    ("sga_llamados_mesa", "fecha"): "timestamptz",
    ("sga_actas_detalle", "fecha"): "timestamptz",
    # A trimmed deployment (source_schemas.md §1.2) has it without time zone: a local wall-clock time.
    ("sga_insc_cursada", "fecha_inscripcion"): "timestamp",
}
MIGRATION_EXTRA_YEARS = 8  # the migrated source's cohorts start this many years before the others'
MIGRATION_LEAD_YEARS = 2  # its detailed records start this many years before the others' first cohort


@dataclass(frozen=True)
class Shapes:
    """Each flag turns on one shape real Guaraní data has (dwh/docs/SYNTHETIC_SOURCES.md)."""

    annual_courses: bool = True
    late_actas: bool = True
    second_careers: bool = True
    late_certificates: bool = True
    readmissions: bool = True
    late_bajas: bool = True
    census_updates: bool = True
    migrated_history: bool = True
    timestamptz_variant: bool = True

    @classmethod
    def names(cls) -> list[str]:
        return [f.name for f in fields(cls)]

    @property
    def any(self) -> bool:
        return any(getattr(self, name) for name in self.names())

    @property
    def on(self) -> list[str]:
        return [name for name in self.names() if getattr(self, name)]

    def without(self, names: list[str]) -> Shapes:
        unknown = sorted(set(names) - set(self.names()))
        if unknown:
            raise ValueError(f"unknown shape(s) {', '.join(unknown)}; known: {', '.join(self.names())}")
        return replace(self, **{name: False for name in names})

    def column_variants(self) -> dict[tuple[str, str], str]:
        return REALISTIC_VARIANTS if self.timestamptz_variant else SIMPLE_VARIANTS


PROFILES = {"realistic": Shapes(), "simple": Shapes(**{name: False for name in Shapes.names()})}


def profile_shapes(name: str) -> Shapes:
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}")
    return PROFILES[name]
