"""The stories the demo and the benchmark run in the sandbox: the runner's commands in order, the
routing each must end in, and what each client (the default route, `x-client-mode: blue`,
`x-client-mode: green`) should see before and after each step, and why.

- `canary(topology)`: the design note's story, init, canary deploy 2.0.0, promote, deploy
  3.0.0, rollback, with a new Auto Scaling group per release (per-release) or with two groups
  used in turn (fixed-pair).
- `single_group()`: one group rolled in place by Auto Scaling instance refreshes. There is no
  canary (two releases side by side need two fleets): init, deploy 2.0.0, deploy 3.0.0 (all at
  once), then a rollback once the refresh to 3.0.0 has ended, which AWS does not allow
  (RollbackInstanceRefresh works only while the refresh is in progress): the runner refuses it
  (exit 3) and going back is a new deploy of 2.0.0.
- `bad_release()`: a weighted release of a good version, then of a version whose servers answer
  a share of their calls with a 500: the 5xx share of its target group goes over
  analysis.max-5xx-percent during the first step and the runner rolls it back by itself.
"""

from __future__ import annotations

from dataclasses import dataclass, field

CLIENTS = ("default", "blue", "green")
FIXED_404 = "404"  # what a client sees from the green rule's fixed response
FAILURE_500 = "http-500"  # what a client sees from a failing release's 500 (the probe's failure kind)
TOPOLOGIES = ("per-release", "fixed-pair", "single-group")
SCENARIOS = ("canary", "bad-release")


@dataclass(frozen=True)
class Step:
    argv: tuple[str, ...]
    picture: str  # what the step does to the routing, in the words of the design note's pictures
    expected: dict[str, int | None]  # route -> generation serving it once the step is done; None: the fixed 404
    why: dict[str, str]  # client -> why it sees what it sees once the step is done
    during: dict[str, tuple[str, ...]] = field(default_factory=dict)  # client -> also seen while the step runs
    exit_code: int = 0  # what the command must exit with
    fails_with: str | None = None  # words the error of a step that must fail contains

    @property
    def command(self) -> str:
        return " ".join(self.argv)


@dataclass(frozen=True)
class Story:
    name: str
    title: str
    steps: tuple[Step, ...]
    stage: dict = field(default_factory=dict)  # stage keys of the configuration (topology, routing, analysis)
    failing: dict[str, float] = field(default_factory=dict)  # version -> share of calls its servers fail

    def versions(self) -> dict[int, str]:
        """Generation -> release: generation 1 runs init's version, each deploy adds the next."""
        versions = [step.argv[step.argv.index("--version") + 1] for step in self.steps
                    if step.argv[0] in ("init", "deploy")]
        return dict(enumerate(versions, 1))

    def outcomes(self, index: int) -> dict[str, str]:
        """What each client must see once step `index` is done (0-based); before the first step
        there are no header rules: every client is on the default route's release."""
        versions = self.versions()
        if index < 0:
            return {client: versions[1] for client in CLIENTS}
        return {route: FIXED_404 if generation is None else versions[generation]
                for route, generation in self.steps[index].expected.items()}

    def during(self, index: int) -> dict[str, frozenset[str]]:
        return {client: frozenset(seen) for client, seen in self.steps[index].during.items()}


def _canary_steps(topology: str) -> tuple[Step, ...]:
    pair = topology == "fixed-pair"
    standby = ("g1's group orders-kie-1 stays running, unrouted (standby), as the pair's idle half" if pair
               else "g1 stays running, unrouted (standby), for a rollback")
    third = ("the pair's idle group orders-kie-1 is emptied and relaunched with 3.0.0 behind a new target group g3"
             if pair else "a new group g3 runs 3.0.0")
    return (
        Step(("init", "--version", "1.0.0"), "Canary-0: everyone on 1.0.0, green testers get 404",
             {"default": 1, "blue": 1, "green": None},
             {"default": "the default rule forwards to g1, the live group init adopts",
              "blue": "the new blue header rule forwards to g1 too",
              "green": "the new green header rule answers a fixed 404: there is no candidate"
                       + ("; init also prepares the pair's second group (no servers yet)" if pair else "")}),
        Step(("deploy", "--version", "2.0.0", "--strategy", "canary"),
             "Canary-1: default and blue stay on 1.0.0, green testers reach 2.0.0",
             {"default": 1, "blue": 1, "green": 2},
             {"default": "the default rule stays on g1: only testers see a candidate before promote",
              "blue": "the blue rule stays on g1, the live release",
              "green": "the green rule forwards to g2"
                       + (", the pair's second group" if pair else ", a new group")
                       + ", once every one of its servers is ready"}),
        Step(("promote",), "Canary-2: everyone on 2.0.0, 1.0.0 kept in standby, green testers get 404",
             {"default": 2, "blue": 2, "green": None},
             {"default": "the default rule moves to g2: 2.0.0 goes live",
              "blue": "the blue rule follows the live release to g2",
              "green": f"no candidate any more: the green rule answers 404; {standby}"}),
        Step(("deploy", "--version", "3.0.0", "--strategy", "canary"),
             "Canary-1 again: green testers reach 3.0.0", {"default": 2, "blue": 2, "green": 3},
             {"default": "the default rule stays on g2", "blue": "the blue rule stays on g2",
              "green": f"the green rule forwards to g3 once ready: {third}"}),
        Step(("rollback",), "Canary-3: 3.0.0 dropped, everyone stays on 2.0.0, green testers get 404",
             {"default": 2, "blue": 2, "green": None},
             {"default": "the default rule never left g2", "blue": "the blue rule never left g2",
              "green": "the candidate g3 is dropped (its servers retired): the green rule answers 404 again"}),
    )


def canary(topology: str = "per-release") -> Story:
    if topology == "single-group":
        return single_group()
    title = ("the design note's story, a new Auto Scaling group per release" if topology == "per-release"
             else "the design note's story on a fixed pair of Auto Scaling groups used in turn")
    stage = {} if topology == "per-release" else {"topology": topology}
    return Story(f"canary ({topology})", title, _canary_steps(topology), stage)


def single_group() -> Story:
    def rolled(version: str, generation: int) -> dict[str, str]:
        return {"default": f"the default route moves to g{generation} once the group's servers are ready there, still"
                           f" on the previous release; the instance refresh then launches {version} servers before it"
                           " terminates the previous ones: both releases answer meanwhile",
                "blue": "the blue rule follows the default route",
                "green": "no canary on a single group: the green rule answers 404 throughout"}

    steps = (
        Step(("init", "--version", "1.0.0"), "everyone on 1.0.0 (g1, the one group), green testers get 404",
             {"default": 1, "blue": 1, "green": None},
             {"default": "the default rule forwards to g1", "blue": "the new blue header rule forwards to g1 too",
              "green": "the new green header rule answers a fixed 404"}),
        Step(("deploy", "--version", "2.0.0", "--strategy", "all-at-once"),
             "a new target group g2 joins the group, the routes move to it, an instance refresh replaces the servers",
             {"default": 2, "blue": 2, "green": None}, rolled("2.0.0", 2)),
        Step(("deploy", "--version", "3.0.0", "--strategy", "all-at-once"),
             "the same with 3.0.0 (g3)", {"default": 3, "blue": 3, "green": None}, rolled("3.0.0", 3)),
        Step(("rollback",),
             "refused: the refresh to 3.0.0 has ended, and AWS rolls back an instance refresh only while it is in"
             " progress (the command exits 3); nothing changes",
             {"default": 3, "blue": 3, "green": None},
             {"default": "the routes stay on g3", "blue": "the routes stay on g3", "green": "the green rule stays 404"},
             exit_code=3, fails_with="AWS rolls back only an instance refresh in progress"),
        Step(("deploy", "--version", "2.0.0", "--strategy", "all-at-once"),
             "going back after the refresh ended is a new deploy of the previous release (g4)",
             {"default": 4, "blue": 4, "green": None}, rolled("2.0.0", 4)),
    )
    return Story("canary (single-group)", "one group rolled in place by instance refreshes", steps,
                 {"topology": "single-group", "routing": {"strategy": "all-at-once"}})


BAD_VERSION, BAD_SHARE = "3.0.0", 0.2
STEP_PAUSE = "3s"
MAX_5XX_PERCENT = 5.0


def bad_release(topology: str = "per-release") -> Story:
    steps = (
        Step(("init", "--version", "1.0.0"), "Canary-0: everyone on 1.0.0, green testers get 404",
             {"default": 1, "blue": 1, "green": None},
             {"default": "the default rule forwards to g1", "blue": "the blue header rule forwards to g1",
              "green": "the green header rule answers a fixed 404"}),
        Step(("deploy", "--version", "2.0.0", "--strategy", "weighted"),
             f"a good release in weighted steps: 10% then 50% of the default route on g2, each held {STEP_PAUSE}"
             f" while g2's 5xx share is watched (at most {MAX_5XX_PERCENT:g}%), then 100% (promoted)",
             {"default": 2, "blue": 2, "green": None},
             {"default": "a growing share of the default route reaches g2 (10%, 50%), then all of it",
              "blue": "the blue rule stays on g1 during the steps and follows the release to g2 at 100%",
              "green": "testers reach the candidate g2 during the steps; once it is live there is no candidate: 404"},
             during={"green": ("2.0.0",)}),
        Step(("deploy", "--version", BAD_VERSION, "--strategy", "weighted"),
             f"a bad release: {BAD_VERSION} passes its health checks but answers {BAD_SHARE:.0%} of its calls with"
             f" a 500; at 10% its 5xx share goes over {MAX_5XX_PERCENT:g}% and the runner rolls it back by itself"
             " (the command exits 1)",
             {"default": 2, "blue": 2, "green": None},
             {"default": "10% of the default route reaches g3 and some of its 500s, until g3's 5xx share fires the"
                         " rollback: everyone back on g2",
              "blue": "the blue rule never leaves g2",
              "green": "testers reach g3 (and its 500s) until the rollback: the green rule answers 404 again"},
             during={"default": (BAD_VERSION, FAILURE_500), "green": (BAD_VERSION, FAILURE_500)},
             exit_code=1, fails_with="analysis.max-5xx-percent"),
    )
    stage = {"routing": {"steps": [10, 50, 100], "step-pause": STEP_PAUSE},
             "analysis": {"max-5xx-percent": MAX_5XX_PERCENT}}
    if topology != "per-release":
        stage["topology"] = topology
    return Story(f"bad-release ({topology})", "a weighted release rolled back by itself when its 5xx share fires", steps, stage,
                 failing={BAD_VERSION: BAD_SHARE})


def story(topology: str = "per-release", scenario: str = "canary") -> Story:
    """The story of a topology and scenario; ValueError (with the reason) for a pair that cannot be."""
    if scenario == "bad-release":
        if topology == "single-group":
            raise ValueError("the bad-release scenario is a weighted release, which needs two fleets side by side;"
                             " topology single-group rolls one group in place: choose per-release or fixed-pair")
        return bad_release(topology)
    return canary(topology)
