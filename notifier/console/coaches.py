"""Console page of the coaching rhythm: per coach, the active clients and their next deadline,
overdue first, and the work queue of clients still without a first contact on day 15.

Read-time figures from the clients' coaching state (`coaching/planning.overview`, pure), so a
contact recorded a moment ago shows at once. Ids only for clients, as in the message log.
"""

from __future__ import annotations

from aiohttp import web

from notifier.clock import utcnow
from notifier.coaching.model import FIRST_CONTACT, MONTHLY_CONTACT, PLAN_RENEWAL
from notifier.coaching.planning import overview, work_queue
from notifier.coaching.store import active_client_ids, load_states
from notifier.console.context import Ctx, coordinators_only
from notifier.console.forms import N_

KIND_LABELS = {FIRST_CONTACT: N_("First contact"), MONTHLY_CONTACT: N_("Monthly contact"),
               PLAN_RENEWAL: N_("Employment plan renewal")}


@coordinators_only
async def coaching_overview(ctx: Ctx) -> web.Response:
    rt = ctx.rt
    states = await load_states(rt.redis, rt.store.sealer, await active_client_ids(rt.redis))
    now = utcnow()
    return ctx.render("coaching", section="coaching",
                      coaches=overview(states, rt.settings.coaching, rt.settings.timezone, now),
                      queue=work_queue(states, rt.settings.coaching, now), kind_labels=KIND_LABELS,
                      escalate_day=rt.settings.coaching.first_contact_escalate_day)


def add_routes(app: web.Application) -> None:
    app.router.add_get("/console/coaching", coaching_overview)
