"""SmartRecruiters' verbs for ``manage.py sandbox smartrecruiters <verb>`` (the generic ones —
webhooks, stats, reset, faults, config — come from the sandbox kit)::

    manage.py sandbox smartrecruiters consent [--company SmartCompany123] [--login admin@... --password ...] [--session sessionid=...]
    manage.py sandbox smartrecruiters order --candidate <id> --job <id> [--package <id or name>]
        [--mode ad-hoc|auto-trigger|inline] [--status INTERVIEW --sub-status "AI interview"]
    manage.py sandbox smartrecruiters resend --order <orderId>
    manage.py sandbox smartrecruiters move --candidate <id> --job <id> --status INTERVIEW [--sub-status ...]
    manage.py sandbox smartrecruiters results [--candidate <id>] [--wait COMPLETED]
    manage.py sandbox smartrecruiters deliveries [--retry-now]
    manage.py sandbox smartrecruiters seed --candidates 10000
    manage.py sandbox smartrecruiters uninstall [--company SmartCompany123]
    manage.py sandbox smartrecruiters companies

A customer's own app (authorization code)::

    manage.py sandbox smartrecruiters app --company SmartCompany123 --redirect-uri URI [--client-id X --client-secret Y]
    manage.py sandbox smartrecruiters authorize --mode page|approve|deny [--drop-scope SCOPE] [--role STANDARD]
    manage.py sandbox smartrecruiters tokens [--expire-all] [--revoke-refresh] [--lifetime SECONDS]
    manage.py sandbox smartrecruiters notes|attachments|properties [--candidate ID]
"""

from __future__ import annotations

import json
from typing import Any

from integrations.sandbox import SandboxCli, Verb, VerbError

from .state import ADA_ID, SUPPORT_JOB_ID, SYSTEM_ROLES


def _calls(cli: SandboxCli, order: dict) -> None:
    for call in order["stagehook"]:
        outcome = call.get("error") or f"{call['status']} {json.dumps(call.get('answer'), ensure_ascii=False)[:200]}"
        cli.write(f"    {call['call']} -> {outcome}")


def _consent_arguments(parser) -> None:
    parser.add_argument("--company", help="SmartRecruiters company id (default: the sandbox's company)")
    parser.add_argument(
        "--session", action="append", default=[], metavar="NAME=VALUE",
        help="a Stagehook session cookie of a signed-in admin (repeatable); then the sandbox drives the page",
    )
    parser.add_argument("--login", help="sign in to Stagehook as this admin (e-mail) on the way; with --password")
    parser.add_argument("--password", help="the admin's Stagehook password (with --login)")
    parser.add_argument("--form", action="append", default=[], metavar="FIELD=VALUE", help="a field to set in the consent form")


def _pairs(items: list[str], what: str) -> dict[str, str]:
    pairs = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise VerbError(f"{what} wants NAME=VALUE, got {item!r}")
        pairs[key] = value
    return pairs


def _consent(cli: SandboxCli, options: dict[str, Any]) -> None:
    payload: dict[str, Any] = {"session": _pairs(options["session"], "--session"), "form": _pairs(options["form"], "--form")}
    if options["company"]:
        payload["company_id"] = options["company"]
    if options["login"]:
        if not options["password"]:
            raise VerbError("--login needs --password")
        payload["login"] = {"login": options["login"], "password": options["password"]}
    body = cli.call("POST", "consent", payload)
    if cli.raw:
        return cli.show(body)
    if body["consent_url"] is None:
        cli.write(f"company {body['company_id']} consents, but there is no partner configuration yet (no consent page):")
        cli.write("    run manage.py smartrecruiters_configure first")
        return
    cli.write(f"company {body['company_id']} consents; the admin's consent page:")
    cli.write(f"    {body['consent_url']}")
    for step in body["steps"]:
        cli.write(f"    {step['call']} -> {step['status']}")
    if body["steps"]:
        cli.write(f"integrated: {body['integrated']}  back at SmartRecruiters: {body['returned']}")
    else:
        cli.write("open it in a browser signed in to Stagehook and approve (or pass --login/--password or --session)")


def _order_arguments(parser) -> None:
    parser.add_argument("--candidate", default=ADA_ID, help=f"candidate id (default {ADA_ID}, Ada Lovelace)")
    parser.add_argument("--job", default=SUPPORT_JOB_ID, help=f"job id (default {SUPPORT_JOB_ID})")
    parser.add_argument("--package", help="package id or name as Stagehook lists it (default: the first)")
    parser.add_argument("--mode", choices=["ad-hoc", "auto-trigger", "inline"], default="ad-hoc")
    parser.add_argument("--status", help="auto-trigger: the hiring-process step (status) that orders")
    parser.add_argument("--sub-status", help="auto-trigger: ...and sub-status")
    parser.add_argument("--requester", help="the recruiter's email (ad-hoc)")
    parser.add_argument("--field", action="append", default=[], metavar="ID=VALUE", help="a partner field value")


def _order(cli: SandboxCli, options: dict[str, Any]) -> None:
    payload: dict[str, Any] = {"candidate_id": options["candidate"], "job_id": options["job"], "mode": options["mode"]}
    for option, key in (("package", "package"), ("status", "status"), ("sub_status", "sub_status")):
        if options[option]:
            payload[key] = options[option]
    if options["requester"]:
        payload["requester"] = {"userId": "sandbox-recruiter", "email": options["requester"]}
    if options["field"]:
        payload["fields"] = _pairs(options["field"], "--field")
    if options["mode"] == "auto-trigger" and not options["status"]:
        raise VerbError("--mode auto-trigger needs --status (and optionally --sub-status): the step that orders")
    body = cli.call("POST", "orders", payload)
    if cli.raw:
        return cli.show(body)
    order = body["order"]
    cli.write(f"order {order['orderId']} ({order['mode']}: {order['trigger']}) for {order['candidate_name']}: {order['state']}")
    cli.write(f"    package {order['package']['id']} ({order['package']['name']})")
    _calls(cli, order)
    if order["inline_url"]:
        cli.write(f"the candidate opens: {order['inline_url']}")


def _resend_arguments(parser) -> None:
    parser.add_argument("--order", required=True, help="the orderId to deliver again (same body)")


def _resend(cli: SandboxCli, options: dict[str, Any]) -> None:
    body = cli.call("POST", f"orders/{options['order']}/resend")
    if cli.raw:
        return cli.show(body)
    _calls(cli, body["order"])


def _move_arguments(parser) -> None:
    parser.add_argument("--candidate", required=True)
    parser.add_argument("--job", required=True)
    parser.add_argument("--status", required=True, help="LEAD, NEW, IN_REVIEW, INTERVIEW, OFFERED, HIRED, REJECTED, ...")
    parser.add_argument("--sub-status", help="one of the hiring process's sub-statuses for that status")


def _move(cli: SandboxCli, options: dict[str, Any]) -> None:
    payload = {"candidate_id": options["candidate"], "job_id": options["job"], "status": options["status"]}
    if options["sub_status"]:
        payload["sub_status"] = options["sub_status"]
    body = cli.call("POST", "applications/move", payload)
    if cli.raw:
        return cli.show(body)
    application = body["application"]
    cli.write(f"application {application['id']} now {application['status']}/{application['subStatus'] or '-'}")
    if not body["deliveries"]:
        cli.write("    no active subscription for application.status.updated: nothing sent")
    for delivery in body["deliveries"]:
        cli.write(f"    webhook {delivery['event_id']} -> {delivery['url']}: {delivery['status']} {delivery['answers']}")
    for order in body["orders"]:
        cli.write(f"    auto-trigger ordered {order['orderId']}: {order['state']}")


def _results_arguments(parser) -> None:
    parser.add_argument("--candidate", help="only this candidate's orders")
    parser.add_argument("--wait", metavar="STATUS", help="poll until the newest order's result has this status, e.g. COMPLETED")
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds --wait polls (default 120)")


def _results(cli: SandboxCli, options: dict[str, Any]) -> None:
    path = "orders" + (f"?candidate_id={options['candidate']}" if options["candidate"] else "")
    if options["wait"]:
        body = cli.poll(
            lambda: cli.call("GET", path),
            lambda b: bool(b["orders"]) and b["orders"][-1]["result"].get("status") == options["wait"],
            timeout=options["timeout"],
            what=f"no order's result reached {options['wait']!r}",
        )
    else:
        body = cli.call("GET", path)
    if cli.raw:
        return cli.show(body)
    if not body["orders"]:
        cli.write("no orders yet")
    for order in body["orders"]:
        result = order["result"]
        score = result.get("score")
        shown = f"{score['raw']} ({score['min']}-{score['max']})" if score else "-"
        cli.write(
            f"{order['orderId']}  {result.get('status', '(no result)'):<11} score {shown}  {result.get('scoreLabel') or ''}  "
            f"{order['candidate_name']} ({order['candidate_id']})  {order['mode']}  order {order['state']}"
        )
        if result.get("summary"):
            cli.write(f"    summary: {result['summary']}")
        for part in result.get("assessmentResults", []):
            part_score = part.get("score")
            cli.write(
                f"    part {part['assessmentId']} {part.get('assessmentName', '')}: {part.get('status', '-')} "
                + (f"{part_score['raw']}/{part_score['max']}" if part_score else "")
            )
        for link in result.get("attachments", []):
            cli.write(f"    link {link.get('type')}: {link.get('url')}")
        for attachment in order["attachments"]:
            kind = "PDF" if attachment["is_pdf"] else "NOT A PDF"
            cli.write(f"    file {attachment['filename']} ({attachment['size']} bytes, {kind}): {attachment['url']}")
        for share in order["shares"]:
            cli.write(f"    note: {share['content'][:200]}")
        for entry in order["history"]:
            outcome = entry.get("status_after") if entry["accepted"] else f"REFUSED {entry['errors'][0]}"
            cli.write(f"    {entry['at']}  PATCH {outcome}")


def _deliveries_arguments(parser) -> None:
    parser.add_argument("--retry-now", action="store_true", help="send deliveries waiting for a retry now")


def _deliveries(cli: SandboxCli, options: dict[str, Any]) -> None:
    body = cli.call("POST", "deliveries/retry") if options["retry_now"] else cli.call("GET", "deliveries")
    if cli.raw:
        return cli.show(body)
    for delivery in body["deliveries"]:
        cli.write(
            f"{delivery['event_id']}  {delivery['event_name']:<28} {delivery['status']:<9} "
            f"attempts {delivery['attempts']}  answers {delivery['answers']}  -> {delivery['url']}"
        )


def _seed_arguments(parser) -> None:
    parser.add_argument("--candidates", type=int, required=True, help="how many candidates to generate")


def _seed(cli: SandboxCli, options: dict[str, Any]) -> None:
    body = cli.call("POST", "seed", {"candidates": options["candidates"]})
    cli.write(f"the sandbox now has {body['candidates']} candidates")


def _uninstall_arguments(parser) -> None:
    parser.add_argument("--company", help="SmartRecruiters company id (default: the sandbox's company)")


def _uninstall(cli: SandboxCli, options: dict[str, Any]) -> None:
    body = cli.call("POST", "uninstall", {"company_id": options["company"]} if options["company"] else {})
    if cli.raw:
        return cli.show(body)
    cli.write(f"company {body['company_id']} removed Stagehook; its credentials no longer work")
    for call in body["stagehook"]:
        cli.write(f"    {call['call']} -> {call.get('status', call.get('error'))}")
    if not body["disabled"]:
        cli.write("    Stagehook did not answer 204")


def _companies(cli: SandboxCli, options: dict[str, Any]) -> None:
    cli.show(cli.call("GET", "companies"))


# --- a customer's own app ----------------------------------------------------------------------
def _app_arguments(parser) -> None:
    parser.add_argument("--company", help="SmartRecruiters company id (default: the sandbox's company)")
    parser.add_argument("--redirect-uri", action="append", required=True, metavar="URI", help="an allowed redirect URI (repeatable)")
    parser.add_argument("--client-id", help="the app's client id (default: generated)")
    parser.add_argument("--client-secret", help="the app's client secret (default: generated)")
    parser.add_argument("--app-name", help="the app's name on the authorization page")


def _app(cli: SandboxCli, options: dict[str, Any]) -> None:
    payload: dict[str, Any] = {"redirect_uris": options["redirect_uri"]}
    for option, key in (("company", "company_id"), ("client_id", "client_id"), ("client_secret", "client_secret"), ("app_name", "name")):
        if options[option]:
            payload[key] = options[option]
    cli.show(cli.call("POST", "apps", payload)["app"])


def _authorize_arguments(parser) -> None:
    parser.add_argument(
        "--mode", choices=["page", "approve", "deny"], default="page",
        help="page: the consent page a person clicks; approve/deny: answer at once (tests without a browser)",
    )
    parser.add_argument("--drop-scope", metavar="SCOPE", help="grant every scope asked but this one")
    parser.add_argument("--role", choices=SYSTEM_ROLES,
                        help="the system role of the user who authorizes (kept when not given; only ADMINISTRATOR "
                             "reads messages, GET /messages)")


def _authorize(cli: SandboxCli, options: dict[str, Any]) -> None:
    body = cli.call("POST", "authorize", {"mode": options["mode"], "drop_scope": options["drop_scope"],
                                          "role": options["role"]})
    mode = body["authorize"]
    dropped = f", dropping {mode['drop_scope']}" if mode["drop_scope"] else ""
    cli.write(f"the authorization page now answers: {mode['mode']}{dropped}; the user who authorizes is {mode['role']}")


def _tokens_arguments(parser) -> None:
    parser.add_argument("--expire-all", action="store_true", help="every access token expires now")
    parser.add_argument("--revoke-refresh", action="store_true", help="refuse every refresh token issued so far (invalid_grant)")
    parser.add_argument("--lifetime", type=int, metavar="SECONDS", help="expires_in of the access tokens issued from now on")


def _tokens(cli: SandboxCli, options: dict[str, Any]) -> None:
    payload: dict[str, Any] = {}
    if options["expire_all"]:
        payload["expire_all"] = True
    if options["revoke_refresh"]:
        payload["revoke_refresh"] = True
    if options["lifetime"] is not None:
        payload["lifetime"] = options["lifetime"]
    cli.show(cli.call("POST", "tokens", payload) if payload else cli.call("GET", "tokens"))


def _candidate_arguments(parser) -> None:
    parser.add_argument("--candidate", help="only this candidate's (default: all)")


def _query(options: dict[str, Any]) -> str:
    return f"?candidate_id={options['candidate']}" if options["candidate"] else ""


def _notes(cli: SandboxCli, options: dict[str, Any]) -> None:
    body = cli.call("GET", "notes" + _query(options))
    if cli.raw:
        return cli.show(body)
    if not body["notes"]:
        cli.write("no notes")
    for note in body["notes"]:
        correlation = f"  correlationId {note['correlationId']}" if note.get("correlationId") else ""
        cli.write(f"{note['createdOn']}  {note['id']}  candidates {', '.join(note['candidates']) or '-'}{correlation}")
        cli.write(f"    shared with {json.dumps(note['shareWith'])}")
        for line in note["content"].splitlines():
            cli.write(f"    {line}")


def _attachments(cli: SandboxCli, options: dict[str, Any]) -> None:
    body = cli.call("GET", "application-attachments" + _query(options))
    if cli.raw:
        return cli.show(body)
    if not body["attachments"]:
        cli.write("no files on applications")
    for item in body["attachments"]:
        kind = "PDF" if item["is_pdf"] else item["contentType"]
        cli.write(
            f"{item['createdOn']}  {item['type']:<12} {item['name']} ({item['size']} bytes, {kind})  "
            f"candidate {item['candidate_id']} job {item['job_id']}: {item['url']}"
        )


def _properties(cli: SandboxCli, options: dict[str, Any]) -> None:
    body = cli.call("GET", "properties" + _query(options))
    if cli.raw:
        return cli.show(body)
    if not body["properties"]:
        cli.write("no property values set")
    for item in body["properties"]:
        cli.write(
            f"{item['updatedOn']}  {item['property_id']} ({item['label']}) = {json.dumps(item['value'])}  "
            f"candidate {item['candidate_id']} job {item['job_id']}"
        )


VERBS: tuple[Verb, ...] = (
    Verb("consent", "the customer's admin installs Stagehook (consent URL; with --session, drives the page)", _consent, _consent_arguments, json_option=True),
    Verb("order", "order a package for a candidate from Stagehook (ad-hoc, auto-trigger, inline)", _order, _order_arguments, json_option=True),
    Verb("resend", "deliver an order to Stagehook again (same orderId)", _resend, _resend_arguments, json_option=True),
    Verb("move", "move an application to another status (sends application.status.updated)", _move, _move_arguments, json_option=True),
    Verb("results", "what Stagehook wrote: results with score, parts, links, files, notes", _results, _results_arguments, json_option=True),
    Verb("deliveries", "webhook deliveries with their retries", _deliveries, _deliveries_arguments, json_option=True),
    Verb("seed", "generate candidates (benchmarks)", _seed, _seed_arguments),
    Verb("uninstall", "the customer removes Stagehook (DELETE our integrationDisableUrl)", _uninstall, _uninstall_arguments, json_option=True),
    Verb("companies", "companies (consent, integration) and the partner configuration", _companies),
    Verb("app", "register a customer's own app (authorization code) for a company; prints its credentials", _app, _app_arguments),
    Verb("authorize", "how the authorization page answers: the page, approve or deny at once, drop a scope", _authorize, _authorize_arguments),
    Verb("tokens", "expire access tokens, revoke refresh tokens, set the access token lifetime", _tokens, _tokens_arguments),
    Verb("notes", "the notes (message shares) Stagehook posted", _notes, _candidate_arguments, json_option=True),
    Verb("attachments", "the files Stagehook attached to applications", _attachments, _candidate_arguments, json_option=True),
    Verb("properties", "the candidate property values Stagehook set", _properties, _candidate_arguments, json_option=True),
)
