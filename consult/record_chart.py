"""The family's blood-pressure chart, drawn on the server as an SVG of shapes only.

The numbers come from consult.selectors.bp_trend (the same trend the API answers); this only
turns them into coordinates. The chart holds no text: its scale is HTML beside it, so it stays
readable in elder mode and the readings list is the accessible form of the same data.
"""

from datetime import datetime, time, timedelta

from django.utils import timezone

WIDTH, HEIGHT = 600, 300
EDGE = 12  # keep today's dots off the very edge of the box
Y_MIN, Y_MAX = 40, 220
GRID = (60, 90, 140, 180)


def clamp(value):
    """A reading off the scale sits on its edge."""
    return min(max(value, Y_MIN), Y_MAX)


def _y(value) -> float:
    return round(HEIGHT - (float(value) - Y_MIN) / (Y_MAX - Y_MIN) * HEIGHT, 1)


def bp_chart(trend: dict) -> dict:
    """Coordinates for the readings (dots), the daily averages (lines) and the 140/90
    thresholds of a `bp_trend` answer, in a WIDTH x HEIGHT box."""
    tz = timezone.get_current_timezone()
    start = datetime.combine(trend["date_from"], time.min, tzinfo=tz)
    end = datetime.combine(trend["date_to"] + timedelta(days=1), time.min, tzinfo=tz)
    span = (end - start).total_seconds()

    def x(moment) -> float:
        return round(EDGE + (moment - start).total_seconds() / span * (WIDTH - 2 * EDGE), 1)

    def noon(day):
        return datetime.combine(day, time(12), tzinfo=tz)

    dots = [{"x": x(r["measured_at"]), "sys": _y(clamp(r["systolic"])), "dia": _y(clamp(r["diastolic"])),
             "high": r["systolic"] >= trend["threshold"]["systolic"] or r["diastolic"] >= trend["threshold"]["diastolic"]}
            for r in trend["readings"]]
    days = trend["days"]
    return {
        "width": WIDTH, "height": HEIGHT,
        "dots": dots,
        "systolic_line": " ".join(f"{x(noon(d['date']))},{_y(clamp(d['systolic']))}" for d in days),
        "diastolic_line": " ".join(f"{x(noon(d['date']))},{_y(clamp(d['diastolic']))}" for d in days),
        "high_systolic_y": _y(trend["threshold"]["systolic"]),
        "high_diastolic_y": _y(trend["threshold"]["diastolic"]),
        # Where each scale mark sits, as a share of the height (for the HTML labels).
        "scale": [{"value": v, "y": _y(v), "top_pct": round(_y(v) / HEIGHT * 100, 1)} for v in GRID],
        "empty": not trend["readings"],
    }
