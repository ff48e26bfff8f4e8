"""Exercise profiles: each exercise is one small declarative object, not a copied script.

A profile names the signal that drives the rep counter, the rest and top zones on that signal
(degrees, in the signal's own sign convention), the posture the exercise needs, the hold target
and the form rules (by name + parameters; the rules themselves live in `posecheck.core.cues`).

Sign conventions. Hip flexion is clinical: 0 = thigh in line with the trunk, positive = flexion,
negative = extension. Clinical hip range is about 120° flexion to 30° extension. An *extension*
exercise has its top zone at lower flexion than its rest zone (a bridge: 50° -> 0°); a
*flexion* exercise has its top zone at higher flexion (a knee raise: 5° -> 90°). The counter
works on `progress = direction * signal`, so "towards the top" is always "increasing".
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from posecheck.errors import ProfileError

KINDS = ("extension", "flexion")
POSTURES = ("supine", "prone", "quadruped", "standing", "seated")
# Which per-frame signal drives the counter (see `posecheck.core.analyzer.primary_signal`).
SIGNALS = (
    "hip_flexion",  # the trusted side's hip flexion (or the mean of both when both are trusted)
    "hip_flexion_min",  # the less flexed / more extended hip: the working leg of one-leg extension
    "hip_flexion_max",  # the more flexed hip: the working leg of one-leg flexion
    "knee_flexion_min",  # the straighter knee: both knees bend only in a lunge, not in a knee drive
    # the planted leg's hip (bent knee; of two, the less flexed hip), chosen stably over time:
    # a one-leg bridge is the pelvis rising over the planted foot, whatever the free leg does
    "hip_flexion_planted",
)
# bilateral: both legs move together, one counter.
# per_leg: legs take turns; one counter per leg on that leg's hip flexion, total = sum.
# one_leg: one counter on a combined signal; each rep is credited to the leg named by `side_by`
# ("hip_min" / "hip_max": the less / more flexed hip at the peak; "planted": the planted leg).
SIDE_BY = ("hip_min", "hip_max", "planted")
LATERALITIES = ("bilateral", "per_leg", "one_leg")


@dataclass(frozen=True)
class RuleRef:
    """A form rule attached to a profile: the rule's name plus its parameters."""

    name: str
    params: tuple[tuple[str, float], ...] = ()

    @property
    def kwargs(self) -> dict[str, float]:
        return dict(self.params)

    def describe(self) -> str:
        if not self.params:
            return self.name
        inner = ", ".join(f"{k}={v:g}" for k, v in self.params)
        return f"{self.name}({inner})"


def rule(name: str, **params: float) -> RuleRef:
    """Build a `RuleRef` (keyword parameters, kept in a hashable, ordered form)."""
    return RuleRef(name, tuple(sorted((k, float(v)) for k, v in params.items())))


@dataclass(frozen=True)
class ExerciseProfile:
    """One exercise as data.

    Zones are on the profile's `signal` in degrees. `rest_deg` and `top_deg` are the zone
    boundaries: the counter is at rest once the signal is at or beyond `rest_deg` (on the rest
    side) and reaches the top once it is at or beyond `top_deg` (on the top side). Leaving a zone
    takes `hysteresis_deg` more, so jitter at a boundary never flips the state twice.
    """

    name: str
    title: str
    kind: str
    posture: str
    signal: str
    rest_deg: float
    top_deg: float
    hysteresis_deg: float = 4.0
    min_rom_deg: float = 20.0  # a completed rep must cover at least this range
    partial_min_rom_deg: float = 10.0  # smaller excursions out of rest are noise, not partials
    # Shorter excursions out of rest are landmark blips or a leg passing through (a lunge's
    # back leg straightening as it steps), not an attempt at a rep: no person starts and gives
    # up a rep within 0.3 s.
    partial_min_s: float = 0.3
    # > 0: a body that keeps still outside the rest zone rests there, and its top zone starts
    # this far beyond (see `posecheck.core.zones`); 0 keeps the zones fixed
    adaptive_rom_deg: float = 0.0
    hold_target_s: float = 0.0  # 0 = no hold expected
    hold_still_deg_s: float = 20.0  # |angular velocity| below this at the top counts as holding
    laterality: str = "bilateral"
    side_by: str | None = None  # one_leg: "hip_min" / "hip_max" credits the rep to that leg
    also_postures: tuple[str, ...] = ()  # other posture labels accepted (e.g. a hinge's bottom)
    knee_gate_deg: tuple[float, float] | None = None  # max knee flexion must lie in this range
    position_deg: tuple[float, float] = (-10.0, 20.0)  # hip flexion: < a extended, > b flexed
    rules: tuple[RuleRef, ...] = ()
    # Which segment moves the hip: the trunk's turn over a rep divided by the hip angle's change
    # (image angles), as an accepted (lo, hi); None: not checked. See `PELVIS_LIFT`.
    trunk_share: tuple[float, float] | None = None
    max_lost_s: float = 0.6  # pose missing longer than this abandons a rep in progress
    posture_grace_s: float = 0.3  # posture mismatch longer than this abandons a rep
    notes: str = field(default="", compare=False)
    # a set may begin in the top position (a deadlift lifted from the floor): the first return
    # to rest is then a rep, not a start the counter must not credit
    first_rep_from_top: bool = False
    # what a full rep asks for, as a coach says it: the cue when movements fall short of a rep
    full_rep_cue: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ProfileError(f"profile {self.name!r}: kind must be one of {KINDS}")
        if self.posture not in POSTURES:
            raise ProfileError(f"profile {self.name!r}: posture must be one of {POSTURES}")
        if self.signal not in SIGNALS:
            raise ProfileError(f"profile {self.name!r}: signal must be one of {SIGNALS}")
        if self.laterality not in LATERALITIES:
            raise ProfileError(f"profile {self.name!r}: laterality must be one of {LATERALITIES}")
        if self.laterality == "per_leg" and self.signal != "hip_flexion":
            raise ProfileError(f"profile {self.name!r}: per_leg counting needs signal hip_flexion")
        if self.laterality == "one_leg" and self.side_by not in SIDE_BY:
            raise ProfileError(
                f"profile {self.name!r}: one_leg needs side_by one of {'|'.join(SIDE_BY)}"
            )
        gap = self.direction * (self.top_deg - self.rest_deg)
        if gap <= 2 * self.hysteresis_deg:
            raise ProfileError(
                f"profile {self.name!r}: top zone must lie beyond the rest zone by more than "
                f"twice the hysteresis"
            )

    @property
    def direction(self) -> int:
        """+1 when the top zone is at higher signal values than the rest zone, else -1."""
        return 1 if self.top_deg > self.rest_deg else -1

    @property
    def postures(self) -> tuple[str, ...]:
        return (self.posture, *self.also_postures)

    def progress(self, value: float) -> float:
        """The signal in "towards the top is larger" form."""
        return self.direction * value

    def zones_text(self) -> str:
        op_rest, op_top = (">=", "<=") if self.direction < 0 else ("<=", ">=")
        return f"rest {op_rest} {self.rest_deg:g}°, top {op_top} {self.top_deg:g}°"


OVER_ARCH_DEG = -15.0

# Which segment moves the hip (`ExerciseProfile.trunk_share`). A bridge lifts the pelvis with
# the feet planted, so the trunk turns about half as far as the hip angle changes (side views:
# rendered 0.47-0.50, real clips 0.42-0.51; a front-oblique hip thrust 0.18-0.21). A leg raise,
# knee raise or donkey kick moves the thigh under a still trunk (rendered 0.02-0.05, real
# 0.04-0.11). The same angles can come from either (bridges read as leg raises in reverse), so
# this is what tells them apart; the bounds leave a margin both ways.
PELVIS_LIFT = (0.15, 2.0)
THIGH_LIFT = (0.0, 0.3)

_BRIDGE_RULES = (
    rule("incomplete_lockout", lockout_deg=10.0),
    rule("hold_short"),
    rule("over_arch", min_deg=OVER_ARCH_DEG),
    rule("feet_placement", knee_min_deg=70.0, knee_max_deg=110.0),
    rule("tempo_fast", min_concentric_s=0.4, min_eccentric_s=0.5),
    rule("hips_drop", max_drop_deg=6.0),
    rule("asymmetry", max_deg=12.0),
)

# Glute bridge thresholds (degrees of hip flexion). Clinical hip range is ≈120° flexion to ≈30°
# extension; a bridge uses a small slice of it: lying with knees bent the bottom is ≈45-55°
# flexion, the top (shoulders-hips-knees in a line) ≈0°. The rest zone (>= 40°) sits 10° above a
# typical 50° bottom. The top zone (<= 25°) sits 25° from a full top and 10° from a rep that stops
# at 15° (an incomplete lockout: still a rep, with a cue), because the model reads a partial bridge
# a few degrees low and smoothing lags fast motion (shared/notes/rendering.md). Hysteresis 3° is
# several times the smoothed landmark jitter and leaves 37-25° for partial reps. Lockout is full
# at <= 10°. Over-arching: the shoulder-hip line cannot see the pelvis tilt, so lumbar extension
# reads as hip extension. Hip extension itself ends at ≈10-20°, and a person's top wobbles by a
# few degrees (landmark jitter ≈2-3° at the top), so the cue fires beyond -15°: clearly past a
# straight shoulder-hip-knee line, where the lower back is finishing the rep.
GLUTE_BRIDGE = ExerciseProfile(
    name="glute_bridge",
    title="Glute bridge",
    full_rep_cue="drive the hips up until shoulders, hips and knees line up",
    kind="extension",
    posture="supine",
    signal="hip_flexion",
    rest_deg=40.0,
    top_deg=25.0,
    hysteresis_deg=3.0,
    min_rom_deg=20.0,
    partial_min_rom_deg=10.0,
    hold_target_s=2.0,  # the seeds' "pause for a count of 1-1000, 2-1000"
    hold_still_deg_s=20.0,
    # knees bent: lying flat with straight legs is not a bridge; feet drawn in close read up to
    # ~145° on real clips, so the upper bound is the knee's own limit
    knee_gate_deg=(40.0, 160.0),
    position_deg=(-10.0, 20.0),
    trunk_share=PELVIS_LIFT,
    rules=_BRIDGE_RULES,
    notes="Supine, knees bent, feet flat; drive the hips up to a straight shoulder-knee line.",
)

PROFILE_LIST: tuple[ExerciseProfile, ...] = (
    GLUTE_BRIDGE,
    ExerciseProfile(
        name="single_leg_bridge",
        title="Single-leg glute bridge",
        full_rep_cue="drive the hips up on one leg until shoulder, hip and knee line up",
        kind="extension",
        posture="supine",
        # The working leg is the planted one (knee bent, foot on the floor). The free leg is
        # raised straight, hugged or crossed, and often raised or lowered before and after the
        # set (a straight leg lifted from the floor passes through the top zone): its hip must
        # not drive the counter, so the signal is the planted leg's hip.
        signal="hip_flexion_planted",
        rest_deg=40.0,
        top_deg=25.0,
        hysteresis_deg=3.0,
        min_rom_deg=20.0,
        partial_min_rom_deg=10.0,
        hold_target_s=2.0,
        # A heel bridge plants an almost straight leg: its hips rest at ~10-30° flexion (inside
        # the top zone above) and rise by 15-20°; one leg lifts the pelvis less than two.
        adaptive_rom_deg=8.0,
        laterality="one_leg",
        side_by="planted",
        knee_gate_deg=(25.0, 160.0),
        trunk_share=PELVIS_LIFT,
        rules=(
            rule("incomplete_lockout", lockout_deg=10.0),
            rule("hold_short"),
            rule("over_arch", min_deg=OVER_ARCH_DEG),
            rule("tempo_fast", min_concentric_s=0.4, min_eccentric_s=0.5),
            rule("hips_drop", max_drop_deg=6.0),
        ),
    ),
    ExerciseProfile(
        name="hip_thrust",
        title="Hip thrust (shoulders on a bench)",
        full_rep_cue="drive the hips up until the trunk is level with the thighs",
        kind="extension",
        posture="supine",
        also_postures=("seated",),  # the bottom, shoulders on the bench, reads as reclined sitting
        signal="hip_flexion",
        # Bottom ≈70-90° flexion (hips near the floor, back on the bench), top ≈0°; the top zone
        # leaves 10° to a rep stopping at ≈22° (incomplete lockout, still counted).
        rest_deg=60.0,
        top_deg=35.0,
        min_rom_deg=30.0,
        partial_min_rom_deg=15.0,
        hold_target_s=1.0,
        knee_gate_deg=(40.0, 160.0),
        trunk_share=PELVIS_LIFT,
        rules=(
            rule("incomplete_lockout", lockout_deg=10.0),
            rule("hold_short"),
            rule("over_arch", min_deg=OVER_ARCH_DEG),
            rule("feet_placement", knee_min_deg=70.0, knee_max_deg=110.0),
            rule("tempo_fast", min_concentric_s=0.4, min_eccentric_s=0.5),
            rule("hips_drop", max_drop_deg=6.0),
        ),
    ),
    ExerciseProfile(
        name="frog_pump",
        title="Frog pump (soles together, knees out)",
        full_rep_cue="drive the hips up until they are in line with the trunk",
        kind="extension",
        posture="supine",
        # Knees out shortens the range: bottom ≈35-45° flexion, top ≈0°; short pulses, no hold.
        signal="hip_flexion",
        rest_deg=30.0,
        top_deg=20.0,
        hysteresis_deg=2.5,
        min_rom_deg=15.0,
        partial_min_rom_deg=7.0,
        hold_target_s=0.0,
        knee_gate_deg=(40.0, 160.0),
        trunk_share=PELVIS_LIFT,
        rules=(
            rule("incomplete_lockout", lockout_deg=8.0),
            rule("over_arch", min_deg=OVER_ARCH_DEG),
        ),
    ),
    ExerciseProfile(
        name="standing_knee_raise",
        title="Standing knee raise / marching",
        full_rep_cue="raise the knee to hip height",
        kind="flexion",
        posture="standing",
        # Standing ≈0-10°, knee at hip height ≈90°; the top zone leaves ≈10° to a knee that
        # stops at ≈63° (incomplete, still a rep).
        signal="hip_flexion",
        rest_deg=25.0,
        top_deg=50.0,
        min_rom_deg=30.0,
        partial_min_rom_deg=15.0,
        hold_target_s=0.0,
        laterality="per_leg",
        trunk_share=THIGH_LIFT,
        rules=(
            rule("incomplete_lockout", lockout_deg=75.0),
            rule("tempo_fast", min_concentric_s=0.25, min_eccentric_s=0.25),
            rule("asymmetry_sides", max_ratio=1.5),
        ),
    ),
    ExerciseProfile(
        name="seated_march",
        title="Seated march",
        full_rep_cue="lift the knee higher off the seat",
        kind="flexion",
        posture="seated",
        # Sitting upright the hip is ≈90° flexed; lifting a knee adds ≈20-30° (clinical max ≈120°).
        # One leg lifts at a time, so one counter follows the more flexed hip and credits the rep
        # to it: seen side-on the far thigh is hidden behind the near one and the model reads it
        # ≈15° short (a 30° lift as ≈15°), drags the other leg up with a raised one and can swap
        # labels. Per-leg counters counted those echoes as reps and partials; the more flexed hip
        # of the two rises once per lift, whichever label it carries (rendered corpus, side views:
        # rest 87-93°, far lift peaks 104-108°, near 112-118°). The top zone leaves ≈4° below the
        # weakest far-side lift.
        signal="hip_flexion_max",
        rest_deg=96.0,
        top_deg=101.0,
        hysteresis_deg=2.0,
        min_rom_deg=10.0,
        partial_min_rom_deg=5.0,
        hold_target_s=0.0,
        laterality="one_leg",
        side_by="hip_max",
        position_deg=(-10.0, 20.0),
        rules=(
            rule("tempo_fast", min_concentric_s=0.25, min_eccentric_s=0.25),
            rule("asymmetry_sides", max_ratio=1.5),
        ),
    ),
    ExerciseProfile(
        name="lying_leg_raise",
        title="Lying leg raise",
        full_rep_cue="raise the straight leg towards vertical",
        kind="flexion",
        posture="supine",
        # Legs straight on the floor ≈0°, raised to ≈80-90°.
        signal="hip_flexion",
        rest_deg=20.0,
        top_deg=45.0,
        min_rom_deg=30.0,
        partial_min_rom_deg=15.0,
        hold_target_s=0.0,
        trunk_share=THIGH_LIFT,
        rules=(
            rule("incomplete_lockout", lockout_deg=70.0),
            rule("tempo_fast", min_concentric_s=0.4, min_eccentric_s=0.5),
        ),
    ),
    ExerciseProfile(
        name="romanian_deadlift",
        title="Romanian deadlift (hip hinge)",
        full_rep_cue="hinge further: push the hips back with the back flat",
        kind="extension",
        posture="standing",
        also_postures=("quadruped", "prone", "seated"),  # a deep hinge has a horizontal trunk
        # Standing ≈0°, hinged ≈70-100° flexion. A rep is stand -> hinge -> stand, so the rest
        # zone is standing and the "top" of the movement is the hinge. A set that starts in the
        # hinge (a band or bar lifted from the floor) counts its first lockout too: people count
        # a deadlift at each lockout.
        first_rep_from_top=True,
        signal="hip_flexion",
        rest_deg=20.0,
        top_deg=50.0,
        min_rom_deg=30.0,
        partial_min_rom_deg=12.0,
        hold_target_s=0.0,
        position_deg=(-10.0, 25.0),
        rules=(rule("tempo_fast", min_concentric_s=0.5, min_eccentric_s=0.5),),
    ),
    ExerciseProfile(
        name="back_lunge",
        title="Back (reverse) lunge",
        full_rep_cue="step back and lower the back knee towards the floor",
        kind="extension",
        posture="standing",
        # Only a lunge bends both knees (≈90° each at the bottom); a knee drive bends one.
        # The leg that stepped back is the more extended hip. Standing, the straighter knee is
        # ≈5-25° (a soft knee, or the standing leg of a knee drive); the rest zone leaves ≈5° to
        # that. At the bottom the back knee is the straighter one (≈60-90°); the top zone
        # leaves ≈10° to a shallow lunge.
        signal="knee_flexion_min",
        rest_deg=30.0,
        top_deg=50.0,
        min_rom_deg=30.0,
        partial_min_rom_deg=12.0,
        hold_target_s=0.0,
        laterality="one_leg",
        side_by="hip_min",
        rules=(rule("tempo_fast", min_concentric_s=0.4, min_eccentric_s=0.4),),
    ),
    ExerciseProfile(
        name="prone_leg_lift",
        title='Prone leg lift ("reach for the sky")',
        full_rep_cue="lift the straight leg higher off the floor",
        kind="extension",
        posture="prone",
        # Lying face down, knee bent, the thigh lifts off the floor into ≈15-20° extension: a
        # small range. One leg lifts at a time, so one counter follows the more extended hip and
        # credits the rep to it: side-on, the model drags the far thigh up with a lifted near one
        # (≈-11° while it lies flat), which per-leg counters counted as reps of their own.
        # The model reads the lift long: a true 20° lift with the knee bent 90° reads ≈35° (it
        # puts the knee up the shank), and lying flat reads -5..+4° (chest and buttocks tilt the
        # shoulder-hip line). Rest >= -6° clears the flat reading; top <= -14° is 70 % of a
        # true 20° lift and half of what the model reads for it.
        signal="hip_flexion_min",
        rest_deg=-6.0,
        top_deg=-14.0,
        hysteresis_deg=2.0,
        min_rom_deg=10.0,
        partial_min_rom_deg=5.0,
        hold_target_s=2.0,
        hold_still_deg_s=15.0,
        laterality="one_leg",
        side_by="hip_min",
        position_deg=(-8.0, 20.0),
        rules=(rule("hold_short"), rule("asymmetry_sides", max_ratio=1.5)),
    ),
    ExerciseProfile(
        name="quadruped_hip_extension",
        title="Quadruped hip extension (donkey kick / speed skater)",
        full_rep_cue="kick the leg back until the thigh lines up with the trunk",
        kind="extension",
        posture="quadruped",
        # Hands and knees: thigh under the hip ≈75-90° flexion at rest, kicked back to ≈0 to
        # -10°; the top zone leaves 10° to a kick stopping at ≈15° (incomplete, still a rep).
        signal="hip_flexion_min",
        rest_deg=60.0,
        top_deg=26.0,
        min_rom_deg=35.0,
        partial_min_rom_deg=15.0,
        hold_target_s=2.0,  # the seeds' speed skaters: "pause for a count of 1-1000, 2-1000"
        laterality="one_leg",
        side_by="hip_min",
        trunk_share=THIGH_LIFT,
        rules=(
            rule("incomplete_lockout", lockout_deg=5.0),
            rule("hold_short"),
            rule("over_arch", min_deg=-20.0),
            rule("tempo_fast", min_concentric_s=0.3, min_eccentric_s=0.4),
        ),
    ),
)

PROFILES: Mapping[str, ExerciseProfile] = {p.name: p for p in PROFILE_LIST}


def get_profile(name: str | ExerciseProfile) -> ExerciseProfile:
    """Look a profile up by name (dashes and case forgiven); a profile passes through."""
    if isinstance(name, ExerciseProfile):
        return name
    key = str(name).strip().lower().replace("-", "_").replace(" ", "_")
    try:
        return PROFILES[key]
    except KeyError:
        raise ProfileError(
            f"unknown exercise {name!r}; choose from: {', '.join(PROFILES)}"
        ) from None
