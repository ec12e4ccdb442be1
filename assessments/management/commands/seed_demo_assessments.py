"""``manage.py seed_demo_assessments [--tenant demo] [--count 400]``: fill the demo tenant with
assessments spread over the last 60 days (every status, scores, jobs, two ATS sources), so the
dashboard's pictures mean something, and give it its own branding (logo, colour, texts).

Idempotent: rows it made carry ``remote_order_id`` ``demo-seed-<n>``; running it again adds only
the missing ones. Deterministic (a fixed random seed), so the demo looks the same every time."""

import random
import struct
import zlib
from datetime import timedelta
from decimal import Decimal

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from assessments.models import Assessment, AssessmentEvent, Mode, Status
from tenants.branding import branding_get, branding_update
from tenants.models import Tenant

FIRST = ["Alex", "Sam", "Maria", "Jonas", "Lea", "Noah", "Emma", "Liam", "Mia", "Elias", "Sofia", "Omar"]
LAST = ["Berg", "Schmidt", "Martin", "Nilsson", "Dubois", "Keller", "Larsen", "Moreau", "Weber", "Lind"]
JOBS = [("tt-101", "Customer Support Agent"), ("tt-102", "Team Lead Support"), ("sr-201", "Backend Engineer"),
        ("sr-202", "Site Reliability Engineer")]
SOURCES = [("demo:teamtailor", "Teamtailor"), ("demo:smartrecruiters", "SmartRecruiters")]
LANGUAGES = ["en", "en", "de", "sv", "fr"]


def demo_logo_png(colour=(15, 118, 110), size=96) -> bytes:
    """A small square logo (a ring on white) as PNG, made without an imaging library."""
    rows = []
    centre, outer, inner = (size - 1) / 2, size * 0.45, size * 0.28
    for y in range(size):
        row = bytearray([0])  # filter: none
        for x in range(size):
            d = ((x - centre) ** 2 + (y - centre) ** 2) ** 0.5
            row += bytes(colour) if inner <= d <= outer else b"\xff\xff\xff"
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows), 9))
            + chunk(b"IEND", b""))


DEMO_BRANDING = {
    "primary_colour": "#0f766e",
    "sender_name": "Demo Company Talent Team",
    "reply_to": "talent@demo.stagehook.test",
    "default_language": "en",
    "email_subject": "",
    "email_body": "",
    "sms_text": "",
    "welcome_text": "Thanks for applying to {company}, {candidate_first_name}! This short interview helps us get to "
                    "know you. Please finish it by {deadline}.",
    "privacy_notice": "",
}


class Command(BaseCommand):
    help = "Seed the demo tenant with assessments for the dashboard, and its branding."

    def add_arguments(self, parser):
        parser.add_argument("--tenant", default="demo", metavar="SLUG")
        parser.add_argument("--count", type=int, default=400)

    def handle(self, *args, tenant, count, **options):
        tenant_obj = Tenant.objects.filter(slug=tenant).first()
        if tenant_obj is None:
            raise CommandError(f"no tenant {tenant!r} (run apply_config first)")
        packages = list(tenant_obj.packages.filter(active=True).prefetch_related("questions").order_by("name"))
        if not packages:
            raise CommandError(f"tenant {tenant!r} has no active packages")
        if branding_get(tenant=tenant_obj).pk is None:
            branding_update(tenant=tenant_obj, values=DEMO_BRANDING, logo=demo_logo_png())
        tenant_obj.packages.filter(pass_score_percent__isnull=True).update(pass_score_percent=Decimal(60))
        existing = set(Assessment.objects.filter(tenant=tenant_obj, remote_order_id__startswith="demo-seed-")
                       .values_list("remote_order_id", flat=True))
        rng = random.Random(12)
        now = timezone.now()
        made = []
        for n in range(count):
            spec = self._spec(rng, n, now, packages)  # drawn for every n, so the data never shifts
            if f"demo-seed-{n}" not in existing:
                made.append(spec)
        with transaction.atomic():
            rows = Assessment.objects.bulk_create([m[0] for m in made])
            # created_at is auto_now_add: set the spread-out times afterwards, row by row (a demo, 400 rows).
            for row, (_, times, _) in zip(rows, made):
                Assessment.objects.filter(pk=row.pk).update(**times)
            pending = [(AssessmentEvent(assessment=row, **{k: v for k, v in event.items() if k != "at"}), event["at"])
                       for row, (_, _, events) in zip(rows, made) for event in events]
            created = AssessmentEvent.objects.bulk_create([event for event, _ in pending])
            for event, (_, at) in zip(created, pending):  # created_at is auto_now_add too
                AssessmentEvent.objects.filter(pk=event.pk).update(created_at=at)
        self.stdout.write(f"seeded {len(made)} demo assessments for {tenant_obj.name} ({len(existing)} were there)")

    def _spec(self, rng, n, now, packages):
        package = packages[n % len(packages)]
        source, label = SOURCES[rng.random() < 0.35]
        job = JOBS[rng.randrange(len(JOBS))]
        created = now - timedelta(days=rng.uniform(0, 60), minutes=rng.randrange(0, 600))
        roll = rng.random()
        status = (Status.COMPLETED if roll < 0.55 else Status.IN_PROGRESS if roll < 0.62 else
                  Status.INVITED if roll < 0.77 else Status.EXPIRED if roll < 0.88 else
                  Status.FAILED if roll < 0.93 else Status.CANCELLED)
        still_open = created > now - timedelta(days=package.expires_after_days)
        if still_open and status == Status.EXPIRED:
            status = Status.INVITED  # too young to have expired
        elif not still_open and status in (Status.INVITED, Status.IN_PROGRESS):
            status = Status.EXPIRED  # past its deadline: the expiry sweep would have closed it
        first, last = rng.choice(FIRST), rng.choice(LAST)
        times = {"created_at": created, "updated_at": created}
        if status != Status.FAILED:
            times["invited_at"] = created + timedelta(minutes=rng.randint(1, 10))
        if status in (Status.IN_PROGRESS, Status.COMPLETED) or (status == Status.EXPIRED and rng.random() < 0.3):
            # never in the future: a young assessment started within the time it has had
            room = max((now - timedelta(hours=1) - times["invited_at"]).total_seconds() / 3600, 0.05)
            times["started_at"] = times["invited_at"] + timedelta(hours=min(rng.uniform(0.2, 70), room * 0.8))
        fields = dict(
            tenant=package.tenant, package=package, mode=Mode.ORDER, source=source, source_label=label,
            remote_order_id=f"demo-seed-{n}", remote_application_id=f"demo-app-{n}", remote_job_id=job[0],
            remote_job_title=job[1], candidate_first_name=first, candidate_last_name=last,
            candidate_email=f"{first}.{last}.{n}@candidates.demo.stagehook.test".lower(), status=status,
            language=rng.choice(LANGUAGES), expires_at=created + timedelta(days=package.expires_after_days),
        )
        events = [{"to_status": Status.ORDERED, "actor": "demo-seed", "note": f"ordered (order, {source})", "at": created}]
        if "invited_at" in times:
            events.append({"from_status": Status.ORDERED, "to_status": Status.INVITED, "actor": "demo-seed",
                           "note": "invitation sent by email", "at": times["invited_at"]})
        if "started_at" in times:
            events.append({"from_status": Status.INVITED, "to_status": Status.IN_PROGRESS, "actor": "candidate",
                           "note": "candidate consented to the privacy notice and started", "at": times["started_at"]})
        if status == Status.COMPLETED:
            times["completed_at"] = min(times["started_at"] + timedelta(minutes=rng.uniform(8, 55)),
                                        now - timedelta(minutes=1))
            fields.update(self._result(rng, package))
            events.append({"from_status": Status.IN_PROGRESS, "to_status": Status.COMPLETED, "actor": "candidate",
                           "note": f"scored {fields['score_value']} ({fields['score_label']})", "at": times["completed_at"]})
        elif status in (Status.EXPIRED, Status.CANCELLED):
            previous = Status.IN_PROGRESS if "started_at" in times else Status.INVITED
            events.append({"from_status": previous, "to_status": status, "actor": "system:expiry" if
                           status == Status.EXPIRED else "recruiter", "note": "deadline passed" if
                           status == Status.EXPIRED else "cancelled by a recruiter",
                           "at": fields["expires_at"] if status == Status.EXPIRED else created + timedelta(days=1)})
        elif status == Status.FAILED:
            events.append({"from_status": Status.ORDERED, "to_status": Status.FAILED, "actor": "system:invitation",
                           "note": "invitation undeliverable: e-mail address refused by the mail server",
                           "at": created + timedelta(minutes=2)})
        return Assessment(**fields), times, events

    @staticmethod
    def _result(rng, package):
        questions, transcript, weighted, weights = [], [], Decimal(0), Decimal(0)
        for q in package.questions.all():
            rubric = [str(p) for p in (q.rubric or [])]
            covered = [p for p in rubric if rng.random() < 0.6]
            missed = [p for p in rubric if p not in covered]
            share = Decimal(len(covered)) / Decimal(len(rubric)) if rubric else Decimal(1)
            weighted += share * q.weight
            weights += q.weight
            transcript.append({"question_id": q.id, "position": q.position, "question": q.text,
                               "answer": "(demo answer) " + "; ".join(covered or ["a short answer"])})
            questions.append({"question_id": q.id, "position": q.position, "question": q.text,
                              "weight": str(q.weight), "max_points": q.max_points,
                              "points": str((q.max_points * share).quantize(Decimal("0.01"))),
                              "percent": str((share * 100).quantize(Decimal("0.01"))), "method": "rubric coverage",
                              "covered": covered, "missed": missed})
        score = (weighted / weights * 100).quantize(Decimal("0.01")) if weights else Decimal("50.00")
        label = "Strong" if score >= 75 else "Good" if score >= 60 else "Fair" if score >= 40 else "Weak"
        return {"score_value": score, "score_min": Decimal(0), "score_max": Decimal(100), "score_label": label,
                "summary": f"Demo result: {score} of 100 ({label}).", "transcript": transcript,
                "details": {"engine": "demo-seed", "method": "rubric coverage (demo data)", "questions": questions}}
