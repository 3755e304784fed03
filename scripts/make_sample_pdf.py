#!/usr/bin/env python3
"""Generate the sample community's annual report PDF.

Writes corpus/sample/resources/canopy-collective-annual-report-2025.pdf using
reportlab with standard fonts so that the text stays extractable.

Usage (from anywhere):
    /work/main/.venv/bin/python scripts/make_sample_pdf.py
"""

from __future__ import annotations

from pathlib import Path

from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
from reportlab.lib.units import mm
from reportlab.platypus import (
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

REPO_ROOT = Path(__file__).resolve().parent.parent
OUT_PATH = (
    REPO_ROOT / "corpus" / "sample" / "resources" / "canopy-collective-annual-report-2025.pdf"
)

TITLE = "Canopy Collective Annual Report 2025"
SUBTITLE = "Urban and rooftop beekeepers of Larkport - the year in review"

# Each section: (heading, [paragraphs]); a paragraph may also be a table spec.
SECTIONS: list[tuple[str, list]] = [
    (
        "From the Chair",
        [
            "2025 was the year the collective grew up. We welcomed more new members than in any "
            "previous season, the city made apiary registration compulsory, and our shared "
            "extractor hardly spent a weekend in its cupboard. It was also a year that reminded "
            "us how much work good varroa control takes: the colonies that struggled were almost "
            "always the ones whose mite counts had been left unchecked through late summer.",
            "Thank you to every member who posted counts, lent a frame of eggs, collected a "
            "swarm from a bus shelter or answered a beginner's question at eleven at night. "
            "This report sums up what we did together.",
        ],
    ),
    (
        "Membership Growth",
        [
            "Paid membership rose from 61 at the end of 2024 to 88 by 31 December 2025, an "
            "increase of 44 percent. Twenty-nine people joined as complete beginners, most of "
            "them through the spring introductory course, and two long-standing members moved "
            "away from Larkport. Forum activity followed the same curve: the number of threads "
            "started in the hive-health channel almost doubled compared with 2024.",
            "Members registered 112 colonies across 47 sites with the city, of which 31 are "
            "rooftops. The average member keeps two hives, and seven members now keep five or "
            "more. Nine mentors supported 21 newcomers during the season.",
        ],
    ),
    (
        "Winter Losses 2024-25",
        [
            "We surveyed all members in April 2025. Of 84 colonies that were alive and queenright "
            "in October 2024, 14 had died or were found queenless and unrecoverable by the end of "
            "March 2025, a loss rate of 16.7 percent. This is better than the 23 percent we "
            "recorded for winter 2023-24 and close to the figure usually quoted as acceptable for "
            "temperate climates.",
            "Members reported the following main causes for the 14 losses:",
            {
                "table": [
                    ["Reported cause", "Colonies", "Share"],
                    ["Varroa and associated viruses", "6", "43%"],
                    ["Starvation in late winter", "3", "21%"],
                    ["Queen failure or drone-laying queen", "3", "21%"],
                    ["Damp and condensation", "1", "7%"],
                    ["Unknown", "1", "7%"],
                ]
            },
            "Starvation losses all happened in March, after a mild February encouraged early "
            "brood rearing. Hefting and fondant checks every two weeks from January are now part "
            "of our winter guidance, and several members have fitted hive scales so they can see "
            "store use without opening the hive.",
        ],
    ),
    (
        "Mite Counts Through the Season",
        [
            "Forty-three members submitted at least three alcohol wash or sugar roll results "
            "during 2025, giving us 311 counts in total. Median counts, expressed as mites per "
            "100 bees, were 0.4 in April, 0.9 in June, 2.1 in late July and 0.6 in October after "
            "treatment. The July peak was lower than the 2.8 median seen in 2024, which we "
            "attribute to more members making splits in May and using the brood break for an "
            "oxalic acid treatment.",
            "Formic acid was the most used late-summer treatment, followed by thymol. A "
            "heatwave in the second week of August pushed rooftop temperatures above 30 degrees "
            "Celsius, and three members reported queen losses after applying formic acid during "
            "that week. The varroa page on the wiki now stresses checking the ten-day forecast "
            "before starting any formic treatment. The midwinter oxalic acid treatment in "
            "December was carried out on 95 colonies.",
        ],
    ),
    (
        "Honey Harvest and Show Results",
        [
            "Members reported a combined harvest of roughly 1,650 kg, an average of 19 kg per "
            "producing colony. The lime trees along the river flowered well in late June and "
            "most of the crop came in during a three-week window. The collective's extractor was "
            "booked on 38 days, and every batch sold on the market table was checked with a "
            "refractometer and read 18.6 percent moisture or lower.",
            "At the Larkport and District Honey Show in September, collective members won "
            "first prize for light liquid honey, second prize for set honey, first and third "
            "prize for cut comb, and the beeswax block class. A member's rooftop honey from the "
            "city centre was highly commended in the open class, which gave us a good story for "
            "the local paper.",
        ],
    ),
    (
        "Workshops and Events",
        [
            "We ran eleven workshops in 2025, with 214 attendances in total:",
            {
                "table": [
                    ["Workshop", "Month", "Attendees"],
                    ["Introduction to beekeeping (4 evenings)", "February", "32"],
                    ["Frame building and hive assembly", "March", "18"],
                    ["First inspections on a rooftop", "April", "16"],
                    ["Mite counting: wash and sugar roll", "May", "24"],
                    ["Swarm control and making splits", "May", "22"],
                    ["Queen rearing basics", "June", "12"],
                    ["Extraction and refractometer use", "July", "20"],
                    ["Labelling and selling honey", "August", "15"],
                    ["Preparing for winter and feeding", "September", "26"],
                    ["Rendering wax and candle making", "November", "17"],
                    ["Oxalic acid demonstration", "December", "12"],
                ]
            },
            "The mite counting and winter preparation sessions had waiting lists and will run "
            "twice in 2026. We also held a public open day at the botanical gardens in July, "
            "where around 400 visitors looked inside an observation hive.",
        ],
    ),
    (
        "Looking Ahead to 2026",
        [
            "Our priorities for the coming year are to bring the late-summer median mite count "
            "below 2 per 100 bees, to help every member register their sites before the city's "
            "first round of checks, and to grow the equipment loan pool so that newcomers can "
            "borrow a hive scale and a refractometer in their first season. We will also publish "
            "a members' survey on winter losses again in April 2026, and we encourage everyone "
            "to take part; the numbers are only useful if most of us report.",
        ],
    ),
]


def build_styles():
    base = getSampleStyleSheet()
    styles = {
        "title": ParagraphStyle(
            "ReportTitle",
            parent=base["Title"],
            fontName="Helvetica-Bold",
            fontSize=22,
            leading=26,
            alignment=TA_CENTER,
            spaceAfter=6,
        ),
        "subtitle": ParagraphStyle(
            "ReportSubtitle",
            parent=base["Normal"],
            fontName="Helvetica-Oblique",
            fontSize=11,
            leading=14,
            alignment=TA_CENTER,
            spaceAfter=18,
        ),
        "heading": ParagraphStyle(
            "ReportHeading",
            parent=base["Heading2"],
            fontName="Helvetica-Bold",
            fontSize=14,
            leading=18,
            spaceBefore=12,
            spaceAfter=6,
        ),
        "body": ParagraphStyle(
            "ReportBody",
            parent=base["BodyText"],
            fontName="Times-Roman",
            fontSize=11,
            leading=14.5,
            spaceAfter=8,
        ),
    }
    return styles


def make_table(rows):
    table = Table(rows, hAlign="LEFT", colWidths=[95 * mm, 35 * mm, 25 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONTNAME", (0, 0), (-1, 0), "Helvetica-Bold"),
                ("FONTNAME", (0, 1), (-1, -1), "Times-Roman"),
                ("FONTSIZE", (0, 0), (-1, -1), 10),
                ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f2d98a")),
                ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
                ("VALIGN", (0, 0), (-1, -1), "MIDDLE"),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 3),
                ("TOPPADDING", (0, 0), (-1, -1), 3),
            ]
        )
    )
    return table


def add_page_number(canvas, doc):
    canvas.saveState()
    canvas.setFont("Helvetica", 9)
    canvas.drawRightString(
        A4[0] - 20 * mm, 12 * mm, f"Canopy Collective - Annual Report 2025 - page {doc.page}"
    )
    canvas.restoreState()


def build_pdf(out_path: Path = OUT_PATH) -> Path:
    out_path.parent.mkdir(parents=True, exist_ok=True)
    styles = build_styles()
    doc = SimpleDocTemplate(
        str(out_path),
        pagesize=A4,
        leftMargin=22 * mm,
        rightMargin=22 * mm,
        topMargin=20 * mm,
        bottomMargin=20 * mm,
        title=TITLE,
        author="Canopy Collective committee",
        subject="Year in review 2025",
        creator="scripts/make_sample_pdf.py",
        invariant=True,  # reproducible bytes (no timestamps / random ids)
    )
    story = [
        Paragraph(TITLE, styles["title"]),
        Paragraph(SUBTITLE, styles["subtitle"]),
    ]
    for heading, items in SECTIONS:
        story.append(Paragraph(heading, styles["heading"]))
        for item in items:
            if isinstance(item, dict) and "table" in item:
                story.append(make_table(item["table"]))
                story.append(Spacer(1, 8))
            else:
                story.append(Paragraph(item, styles["body"]))
    doc.build(story, onFirstPage=add_page_number, onLaterPages=add_page_number)
    return out_path


if __name__ == "__main__":
    path = build_pdf()
    print(f"wrote {path}")
