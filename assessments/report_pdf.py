"""The report as a PDF file (fpdf2: pure Python, no system libraries), with the content of the
report page: facts, score, summary, and each answer with its points. For any party that stores a
file rather than a link (an ATS attachment)."""

from __future__ import annotations

from fpdf import FPDF

from .models import Assessment
from .selectors import assessment_report_context

FONT = "Helvetica"


def _latin1(text: object) -> str:
    # The core PDF fonts cover Latin-1; anything else is replaced rather than failing the report.
    return str(text if text is not None else "").encode("latin-1", "replace").decode("latin-1")


def assessment_report_pdf(*, assessment: Assessment) -> bytes:
    context = assessment_report_context(assessment=assessment)
    pdf = FPDF(format="A4")
    pdf.set_title(_latin1(f"Report #{assessment.pk} - {assessment.package.name}"))
    pdf.set_creator("Stagehook")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.epw

    def line(text: str, *, size: int = 10, style: str = "", height: float = 5.5) -> None:
        pdf.set_font(FONT, style=style, size=size)
        pdf.multi_cell(width, height, _latin1(text), new_x="LMARGIN", new_y="NEXT")

    purged = bool(assessment.personal_data_purged_at)
    name = "candidate data removed" if purged else (assessment.candidate_name or "candidate")
    line(f"{assessment.package.name} - {name}", size=16, style="B", height=8)
    pdf.ln(2)
    facts = [("Company", assessment.tenant.name)]
    if assessment.remote_job_title:
        facts.append(("Position", assessment.remote_job_title))
    facts.append(("Status", assessment.get_status_display()))
    for label, moment in (("Invited", assessment.invited_at), ("Started", assessment.started_at),
                          ("Completed", assessment.completed_at)):
        if moment:
            facts.append((label, f"{moment:%d %b %Y %H:%M} UTC"))
    for label, value in facts:
        line(f"{label}: {value}")
    pdf.ln(3)
    if assessment.score_value is not None:
        label = f" - {assessment.score_label}" if assessment.score_label else ""
        line(f"Score: {assessment.score_value} / {assessment.score_max} (min {assessment.score_min}){label}",
             size=12, style="B", height=7)
        if assessment.summary:
            line(assessment.summary)
        if context["engine_method"]:
            line(f"How this was scored: {context['engine_method']}.", size=8)
    else:
        line("No result yet.")
    for number, row in enumerate(context["rows"], start=1):
        entry, score = row["entry"], row["score"]
        pdf.ln(3)
        line(f"Question {number}: {entry.get('question', '')}", size=11, style="B", height=6)
        line(entry.get("answer") or "-")
        if score:
            line(f"{score.get('points')} / {score.get('max_points')} points ({score.get('percent')}%)", style="B")
    return bytes(pdf.output())
