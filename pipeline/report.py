"""Write the run's report: HTML (RTL, self-contained, escaped), Markdown, CSV and JSON tables."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from jinja2 import Environment, PackageLoader, select_autoescape

from pipeline.taxonomy import load_taxonomy

_CSV_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")


def neutralize_csv_cells(frame: pd.DataFrame) -> pd.DataFrame:
    """Prefix text cells that a spreadsheet would run as a formula with a single quote."""
    out = frame.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col]):
            out[col] = out[col].map(
                lambda v: "'" + v if isinstance(v, str) and v.startswith(_CSV_TRIGGERS) else v
            )
    return out


def _env() -> Environment:
    return Environment(
        loader=PackageLoader("pipeline", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        keep_trailing_newline=True,
    )


def write_report(run_dir: Path, *, summary: dict, clusters: pd.DataFrame, store, config) -> None:
    taxonomy = load_taxonomy(config.run.taxonomy)
    lang = config.report.language
    records = pd.read_parquet(run_dir / "complaints.parquet")
    complaints = records[records["is_complaint"]]
    exploded = complaints.explode("themes").dropna(subset=["themes"])
    n_complaints = len(complaints)
    rows = []
    for theme in taxonomy.themes:
        sub = exploded[exploded["themes"] == theme.id]
        rows.append(
            {
                "theme": theme.id,
                "name": theme.name(lang),
                "count": len(sub),
                "share": round(len(sub) / n_complaints, 4) if n_complaints else 0.0,
                "example_ids": ";".join(sub.sort_values("complaint_proba", ascending=False)["record_id"].head(5)),
                "examples": sub.sort_values("complaint_proba", ascending=False)["display_text"].head(config.report.examples_per_theme).tolist(),
            }
        )
    themes = pd.DataFrame(rows).sort_values(["count", "theme"], ascending=[False, True])
    neutralize_csv_cells(themes.drop(columns=["examples"])).to_csv(run_dir / "themes.csv", index=False)
    trends = store.query(
        "SELECT date_trunc('week', day) AS week, theme, sum(n_complaints) AS n FROM theme_daily GROUP BY ALL ORDER BY week, theme"
    )
    trends.to_csv(run_dir / "trends.csv", index=False)
    (run_dir / "alerts.json").write_text("[]\n", encoding="utf-8")
    context = {
        "lang": lang,
        "summary": summary,
        "themes": themes.to_dict("records"),
        "clusters": clusters.to_dict("records") if len(clusters) else [],
        "n_complaints": n_complaints,
    }
    html = _env().get_template("report.html.j2").render(**context)
    (run_dir / "report.html").write_text(html, encoding="utf-8")
    md = [f"# Complaint report {summary['run_id']}", ""]
    for row in context["themes"]:
        md.append(f"- {row['name']} ({row['theme']}): {row['count']}")
    (run_dir / "report.md").write_text("\n".join(md) + "\n", encoding="utf-8")
