"""PURE: what a command will do, from what was asked and what AWS shows. No AWS calls here.

Every command plans in three parts:
1. finish what a stopped run left half-done (a route that did not follow the default, a role
   tag behind the routing, a weight-0 reference nobody waits for, a header rule that no longer
   logs in like the default action);
2. the command's own steps;
3. bring role tags in line with the routing and apply the retire policy.
So resuming after a crash is running the same command again: it plans from what AWS shows and
executes what is left. The refusal rules of every command live here, once.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from . import routing as desired
from .aws.alb import same_login
from .config import StageConfig
from .errors import ConfigError, Refused
from .model import FIXED_404, TAG_LEAVING, Capacity, Group, Release, Role, Routing
from .state import FleetState, effective_role
from .steps import (
    Adopt,
    AdoptSpare,
    ClearUnrouted,
    CopySettings,
    CreateGroup,
    CreatePairGroup,
    CreateTargetGroup,
    DeleteGroup,
    DeleteTargetGroup,
    DetachTargetGroup,
    EmptyGroup,
    MarkGeneration,
    MarkUnrouted,
    MoveSchedules,
    Plan,
    Record,
    Reference,
    Repoint,
    RollbackRefresh,
    Route,
    ScaleToZero,
    ScaleUp,
    SetRole,
    Shift,
    StartRefresh,
    Step,
    SyncLogin,
    Unreference,
    WaitReady,
    WaitRefresh,
    Watch,
    new_target_group,
)

COMMANDS = ("init", "deploy", "promote", "rollback", "cleanup", "retire", "shift")


@dataclass(frozen=True)
class Request:
    command: str
    version: str | None = None
    strategy: str | None = None
    generation: int | None = None
    weight: int | None = None
    adopt: str | None = None  # init: the live Auto Scaling group to adopt (found by the flow)


@dataclass
class _Member:
    """What the draft knows of one group while it plans: its tag as the plan leaves it."""

    name: str
    generation: int
    version: str
    target_group: str | None
    tagged: Role | None
    group: Group | None  # None for a group the plan creates

    @property
    def label(self) -> str:
        return f"g{self.generation} ({self.version})"

    @property
    def arn(self) -> str:
        """Its target group (or the placeholder of the one the plan creates)."""
        if self.target_group is None:
            raise ValueError(f"{self.name} has no target group any more")
        return self.target_group


@dataclass
class Draft:
    """A plan being written, with the routing and role tags as its steps leave them."""

    state: FleetState
    cfg: StageConfig
    command: str
    steps: list[Step] = field(default_factory=list)
    message: str | None = None

    def __post_init__(self):
        self.routing = self.state.routing
        self.members = {
            g.asg_name: _Member(g.asg_name, g.generation, g.version, g.target_group_arn, g.tagged_role, g)
            for g in self.state.groups
        }
        self.last_generation = self.state.listener.last_generation

    def add(self, step: Step) -> None:
        self.steps.append(step)
        if isinstance(step, Route):
            self.routing = _routed(self.routing, step)
        elif isinstance(step, Reference):
            members = self.routing.weights or ((self.routing.default, 1),)
            self.routing = replace(self.routing, weights=tuple(members) + ((step.target_group, 0),))
        elif isinstance(step, Unreference):
            left = tuple(m for m in self.routing.weights if m[0] != step.target_group)
            self.routing = replace(self.routing, weights=left if len(left) > 1 else ())
        elif isinstance(step, Shift):
            self.routing = replace(
                self.routing,
                default=step.to if step.weight >= 100 else step.blue,
                weights=((step.blue, 100 - step.weight), (step.to, step.weight)),
            )
        elif isinstance(step, SetRole):
            self.members[step.group].tagged = step.role
        elif isinstance(step, MarkGeneration):
            self.last_generation = step.generation

    def route_to(self, wanted: Routing) -> None:
        changes = desired.changes(self.routing, wanted)
        if self.routing.split and wanted.default is not None and wanted.default == self.routing.default:
            # Same group, but the default still splits traffic: make it a plain forward again.
            self.add(Route("default", wanted.default, self.routing.default))
        for change in changes:
            self.add(Route(change.route, change.target, change.previous, change.create))

    def role_of(self, member: _Member) -> Role:
        probe = Group(
            member.generation,
            Role.RETIRED,
            Release("", "", ""),
            member.name,
            member.target_group,
            Capacity(0, 0, 0),
            tagged_role=member.tagged,
        )
        return effective_role(probe, self.routing)

    def of_kind_for(self, kind: type, group: str) -> list:
        return [step for step in self.steps if isinstance(step, kind) and step.target == group]

    def plan(self) -> Plan:
        return Plan(self.command, tuple(self.steps), self.message)


def _routed(routing: Routing, step: Route) -> Routing:
    if step.route == "default":
        return replace(routing, default=step.to, weights=())
    if step.route == "blue":
        return replace(routing, blue=step.to)
    return replace(routing, green=step.to)


# -- entry point -----------------------------------------------------------------------------------


def plan(request: Request, state: FleetState, cfg: StageConfig) -> Plan:
    """The plan of one command; Refused (exit 3) or ConfigError (exit 2) when it cannot run."""
    planners = {
        "init": _init,
        "deploy": _deploy,
        "promote": _promote,
        "rollback": _rollback,
        "cleanup": _cleanup,
        "retire": _retire,
        "shift": _shift,
    }
    if request.command not in planners:
        raise ConfigError(f"unknown command {request.command!r}; one of {', '.join(COMMANDS)}")
    return planners[request.command](request, state, cfg)


def require_blue(state: FleetState) -> Group:
    blue = state.blue
    if blue is None:
        raise Refused(
            f"the listener's default action ({state.routing.default}) is not a group managed by kie-bluegreen;"
            " run `kie-bluegreen init --version V` first to adopt the live group as generation 1"
        )
    return blue


def pending(state: FleetState, cfg: StageConfig) -> Plan:
    """What the next command would finish first (status reports it; it changes nothing)."""
    if state.blue is None:
        return Plan("status")
    draft = Draft(state, cfg, "status")
    _settle(draft, keep=set())
    _finalize(draft)
    return draft.plan()


# -- init ----------------------------------------------------------------------------------------


def _init(request: Request, state: FleetState, cfg: StageConfig) -> Plan:
    draft = Draft(state, cfg, "init")
    release = cfg.release(_version(request))
    blue = state.blue
    default = state.routing.default
    if blue is None:
        if request.adopt is None or default is None:
            raise Refused("init: no live group to adopt behind the listener's default action")
        live = request.adopt
        generation = state.next_generation
        draft.add(Adopt(live, default, generation, release))
        draft.members[live] = _Member(live, generation, release.version, default, Role.BLUE, None)
        blue_target = default
    else:
        live = blue.asg_name
        blue_target = blue.arn
        if blue.release != release:
            draft.message = f"already initialised: blue is {blue.name} (--version {release.version} ignored)"
    # Only what is missing: a canary in progress survives a second init.
    current = draft.routing
    _sync_login(draft)
    draft.route_to(Routing(current.default, current.blue or blue_target, current.green or FIXED_404))
    if cfg.topology == "fixed-pair":
        _init_pair(draft, live)
    if state.topology != cfg.topology and (state.topology or cfg.topology != "per-release"):
        _check_topology_switch(state, cfg)
        draft.add(Record(None, cfg.topology))
    return draft.plan()


def _check_topology_switch(state: FleetState, cfg: StageConfig) -> None:
    """The topology may change only at rest: not while a candidate is deployed."""
    recorded = state.topology or "per-release"
    if recorded != cfg.topology and state.green is not None:
        raise Refused(
            f"topology: the stage runs {recorded} and a release is in progress ({state.green.name});"
            f" promote it or roll it back before switching to {cfg.topology}"
        )


def _version(request: Request) -> str:
    if request.version is None:
        raise ConfigError(f"{request.command}: --version is required")
    return request.version


def pair_of(cfg: StageConfig, live: str) -> tuple[str, str]:
    """Fixed pair: the two groups, the live one first."""
    if cfg.pair:
        if live not in cfg.pair:
            raise ConfigError(f"pair: the listener forwards to {live}, which is not one of {', '.join(cfg.pair)}")
        return live, next(name for name in cfg.pair if name != live)
    return live, cfg.pair_name


def pair_members(state: FleetState, cfg: StageConfig) -> set[str]:
    """Fixed pair: the stage's two groups (those `pair` names, or the adopted live group and
    <app>-<stage>-pair). Groups named like per-release generations are left from before a switch
    of topology and retired as such."""
    if cfg.pair:
        return set(cfg.pair) & set(state.asgs)
    per_release = re.compile(re.escape(cfg.group_name(0)[:-1]) + r"\d+$")
    return {name for name in state.asgs if not per_release.fullmatch(name)}


def _init_pair(draft: Draft, live: str) -> None:
    """The second group of a fixed pair: the one `pair` names, or a copy of the live group at
    zero servers."""
    state, cfg = draft.state, draft.cfg
    if pair_members(state, cfg) - {live}:
        return  # the pair is complete
    _, other = pair_of(cfg, live)
    draft.add(AdoptSpare(other) if cfg.pair else CreatePairGroup(other, live))


# -- deploy --------------------------------------------------------------------------------------


def _deploy(request: Request, state: FleetState, cfg: StageConfig) -> Plan:
    """Deploy `version`; without one (a single phase of a deploy in progress), the candidate's."""
    blue = require_blue(state)
    _check_topology_switch(state, cfg)
    candidate = state.green
    if request.version is None:
        if candidate is None:
            draft = Draft(state, cfg, "deploy")
            draft.message = "no green candidate: nothing to wait for or route (deploy a new version first)"
            return draft.plan()
        request = replace(request, version=candidate.version)
    release = cfg.release(_version(request))
    strategy = request.strategy or cfg.routing.strategy
    if candidate and candidate.release != release:
        raise Refused(
            f"green candidate {candidate.name} is still deployed; promote it or roll it back"
            f" before deploying {release.version}"
        )
    draft = Draft(state, cfg, "deploy")
    if cfg.topology == "single-group":
        return _deploy_single(draft, blue, release, strategy)
    if candidate is None and blue.release == release:
        _settle(draft, keep=set())
        _finalize(draft)
        draft.message = f"{release.version} is already live on {blue.name}"
        return draft.plan()
    if candidate is not None and candidate.arn in state.routing.serving() and strategy == "canary":
        draft.message = f"{release.version} is already the green candidate {candidate.name}"

    _settle(draft, keep={candidate.arn} if candidate else set())
    member = _provision(draft, blue, candidate, release)
    if member.target_group not in draft.routing.serving():
        draft.add(WaitReady(member.name, member.label, member.arn, member.version, cfg.wait.timeout))
    if strategy == "canary":
        draft.route_to(desired.canary(blue.arn, member.arn))
        _unreference(draft, member)
    elif strategy == "weighted":
        # Green testers reach the candidate during the steps, as in a canary.
        if draft.routing.green != member.target_group:
            draft.add(Route("green", member.arn, draft.routing.green, draft.routing.green is None))
        _weighted_steps(draft, blue, member)
    else:
        _promote_to(draft, member)
    _finalize(draft)
    return draft.plan()


def _provision(draft: Draft, blue: Group, candidate: Group | None, release: Release) -> _Member:
    """Steps that create (or finish creating) the candidate and make AWS health-check it."""
    state, cfg = draft.state, draft.cfg
    if candidate is None and cfg.topology == "fixed-pair":
        member = _reuse_idle(draft, blue, release)
    elif candidate is None:
        generation = state.next_generation
        name = cfg.group_name(generation)
        target_group = new_target_group(name)
        # Also when a stopped run left it: creating finds it and copies its attributes again.
        draft.add(CreateTargetGroup(name, blue.arn))
        draft.add(CreateGroup(name, generation, release, new_capacity(cfg, blue), target_group, blue.asg_name))
        member = _Member(name, generation, release.version, target_group, Role.GREEN, None)
        draft.members[name] = member
    else:
        member = draft.members[candidate.asg_name]
        if cfg.topology == "fixed-pair":  # a reused group that a stopped run left half-way
            _leave(draft, candidate.asg_name, candidate.generation, candidate.target_groups, candidate.leaving)
    if cfg.topology == "per-release" and (member.group is None or member.group.copied_from is None):
        draft.add(CopySettings(member.name, blue.asg_name, member.arn, blue.arn))
    if member.group is None or member.group.capacity.desired == 0:
        # Servers launch only once the group's settings are in place: a launching lifecycle
        # hook, a warm pool apply to them too.
        draft.add(ScaleUp(member.name, new_capacity(cfg, blue)))
    if draft.last_generation < member.generation:
        draft.add(MarkGeneration(member.generation))
    if member.target_group not in draft.routing.referencing():
        draft.add(Reference(member.name, member.arn))
    return member


def _reuse_idle(draft: Draft, blue: Group, release: Release) -> _Member:
    """Fixed pair: the group that does not serve runs the new release, in a new target group.
    Its previous generation is gone for good (its target group is deleted)."""
    state, cfg = draft.state, draft.cfg
    others = sorted(pair_members(state, cfg) - {blue.asg_name})
    if not others:
        raise Refused(
            f"fixed-pair: {cfg.app}/{cfg.stage} has no second group; run `kie-bluegreen init` to create or adopt it"
        )
    if len(others) > 1:
        raise Refused(
            f"fixed-pair: besides {blue.asg_name} the stage has {len(others)} groups ({', '.join(others)});"
            " a pair has two: name them with `pair: [a, b]`"
        )
    idle = others[0]
    view = state.asgs[idle]
    generation = state.next_generation
    name = cfg.group_name(generation)
    target_group = new_target_group(name)
    draft.add(CreateTargetGroup(name, blue.arn))
    if view.capacity.desired > 0 or view.instances:
        draft.add(EmptyGroup(idle, cfg.wait.timeout))
    draft.add(Repoint(idle, generation, release, target_group))
    previous = draft.members[idle].group if idle in draft.members else None
    old = previous.target_groups if previous else tuple(view.target_group_arns)
    _leave(draft, idle, generation, old, previous.leaving if previous else view.tags.get(TAG_LEAVING))
    member = _Member(idle, generation, release.version, target_group, Role.GREEN, None)
    draft.members[idle] = member
    return member


def _leave(
    draft: Draft, group: str, generation: int, target_groups, leaving: str | None = None, keep: str | None = None
) -> None:
    """A reused group leaves the target groups of what it ran before, which are deleted: that
    generation is gone for good. It keeps the one named after `generation`, or `keep` (an adopted
    generation's target group has a name of its own). `leaving`: one it noted it was leaving (a
    stop after the detach)."""
    old = [arn for arn in target_groups if arn != keep and target_group_name(arn) != draft.cfg.group_name(generation)]
    for arn in old + ([leaving] if leaving and leaving not in old else []):
        draft.add(DetachTargetGroup(group, arn))
        draft.add(
            DeleteTargetGroup(
                target_group_name(arn), arn, f"its generation is gone: {group} now runs generation {generation}", group
            )
        )


def target_group_name(arn: str) -> str:
    return arn.split(":targetgroup/")[-1].split("/")[0]


def new_capacity(cfg: StageConfig, blue: Group) -> Capacity:
    """The configured capacity, or the live group's ('copy')."""
    if cfg.capacity:
        return cfg.capacity
    capacity = blue.saved_capacity or blue.capacity
    if capacity.desired == 0:
        raise ConfigError("capacity: 'copy' found the live group at 0 servers; set capacity: {min, max, desired}")
    return capacity


def _weighted_steps(draft: Draft, blue: Group, member: _Member) -> None:
    """Each configured step not reached yet: shift, then hold and watch. 100 is a promote."""
    cfg = draft.cfg
    reached = draft.routing.share(member.target_group) if draft.routing.split else 0
    for weight in cfg.routing.steps:
        if weight < reached:
            continue
        if weight >= 100:
            _promote_to(draft, member)
            return
        if weight > reached:
            draft.add(Shift(weight, member.arn, blue.arn))
        draft.add(Watch(member.name, member.arn, cfg.routing.step_pause, f"{weight}% of the default route"))
        reached = weight


def _promote_to(draft: Draft, member: _Member) -> None:
    """Everyone on the candidate (the design note's Canary-2), then the bake when configured:
    the previous group stays referenced with weight 0 meanwhile, health-checked and ready to
    take the traffic back at once if an alarm fires."""
    draft.add(Record(f"promote:{member.generation}", draft.cfg.topology))
    previous = draft.state.group_of(draft.routing.default)
    bake = draft.cfg.analysis.bake
    if bake > 0 and previous is not None and previous.arn != member.target_group:
        draft.add(Shift(100, member.arn, previous.arn))
        draft.route_to(desired.promoted(member.arn))
        draft.add(Watch(member.name, member.arn, bake, "bake: the previous group is kept until it ends"))
        draft.add(Unreference(previous.asg_name, previous.arn))
    else:
        draft.route_to(desired.promoted(member.arn))


# -- single group --------------------------------------------------------------------------------


def _deploy_single(draft: Draft, group: Group, release: Release, strategy: str) -> Plan:
    """One group rolled in place: a new target group joins it (health-checked with weight 0),
    the routes move to it once its servers are ready there, AWS replaces the servers one by one
    (instance refresh), then the previous target group is retired. The previous target group
    stays referenced with weight 0 until the refresh ends: the group registers each new server
    in it too, and AWS counts a new server only once every target group of the group reports it
    healthy (health-checked only while referenced); a rollback switches back to it at once."""
    state, cfg = draft.state, draft.cfg
    if strategy != "all-at-once":
        raise ConfigError(
            f"routing.strategy: {strategy} needs two fleets side by side; topology single-group"
            " rolls one group in place: use all-at-once"
        )
    _settle(draft, keep=set(group.target_groups))
    live = group.release == release
    generation = group.generation if live else state.next_generation
    name = cfg.group_name(generation)
    new = next((arn for arn in group.target_groups if target_group_name(arn) == name), None)
    member = draft.members[group.asg_name]
    if not live or new is None:
        new = new_target_group(name)
        draft.add(CreateTargetGroup(name, group.arn))
        # The group keeps its launch template version: the instance refresh brings the new one
        # (AWS rolls a refresh back to the version the group had when it started).
        draft.add(
            Repoint(
                group.asg_name,
                generation,
                release,
                new,
                Role.BLUE,
                previous=f"{group.generation} {group.release}" if not live else None,
                template=False,
            )
        )
    member.target_group, member.generation, member.version = new, generation, release.version
    if draft.last_generation < generation:
        draft.add(MarkGeneration(generation))
    if new not in draft.routing.referencing():
        draft.add(Reference(group.asg_name, new))
    rolled = bool(group.instance_releases) and all(tag == str(release) for tag in group.instance_releases)
    if draft.routing.default != new:
        # What the servers run until the refresh: the group's release before this deploy.
        if rolled:
            running = release.version
        elif not live:
            running = group.release.version
        else:
            running = group.previous[1].version if group.previous else release.version
        draft.add(WaitReady(group.asg_name, member.label, new, running, cfg.wait.timeout))
        draft.add(Record(f"promote:{generation}", cfg.topology))
        if draft.routing.default in group.target_groups:
            draft.add(Shift(100, new, draft.routing.default))  # the previous one kept with weight 0
        draft.route_to(desired.promoted(new))
    if not rolled:
        if not (group.refresh is not None and group.refresh.active):
            draft.add(StartRefresh(group.asg_name, release, generation))
        draft.add(WaitRefresh(group.asg_name, release, _refresh_timeout(cfg, group)))
    for arn in draft.routing.warming:
        if arn in group.target_groups and arn != new:
            draft.add(Unreference(group.asg_name, arn))
    _leave(draft, group.asg_name, generation, group.target_groups, group.leaving, keep=new)
    _finalize(draft)
    if not draft.steps:
        draft.message = f"{release.version} is already live on {group.asg_name}"
    return draft.plan()


def _refresh_timeout(cfg: StageConfig, group: Group) -> float:
    """wait.timeout for each server replaced (they are replaced one after another)."""
    return cfg.wait.timeout * max(1, group.capacity.desired)


def _rollback_single(draft: Draft, group: Group) -> Plan:
    """While AWS still replaces the servers, roll the instance refresh back (and the routes with
    it); once it finished, AWS cannot: deploy the previous version again."""
    cfg = draft.cfg
    leaving = _single_rollback_leaves(draft.state, group)
    if leaving is not None:  # a rollback that stopped after retagging the group
        generation, release = group.generation, group.release
    elif group.previous is None:
        raise Refused(f"nothing to roll back to: {group.asg_name} runs the first release kie-bluegreen deployed to it")
    else:
        leaving = group.generation
        generation, release = group.previous
    refresh = group.refresh
    untouched = all(tag == str(release) for tag in group.instance_releases)
    if not untouched and not (refresh is not None and refresh.active):
        raise Refused(
            f"the instance refresh of {group.asg_name} to {group.version} has ended"
            f" ({refresh.status if refresh else 'no refresh'}); AWS rolls back only an instance refresh in"
            f" progress: to go back, deploy {release.version} again (kie-bluegreen deploy --version {release.version})"
        )
    old = next((arn for arn in group.target_groups if target_group_name(arn) != cfg.group_name(leaving)), None)
    if old is None:
        raise Refused(
            f"{group.asg_name} no longer registers into the target group of {release.version}; deploy"
            f" {release.version} again to go back"
        )
    _settle(draft, keep={old})
    draft.add(Record(f"rollback:{leaving}:{generation}", cfg.topology))
    # The release tag first: servers the rollback launches must start the previous release.
    draft.add(Repoint(group.asg_name, generation, release, old, Role.BLUE, template=False))
    member = draft.members[group.asg_name]
    member.target_group, member.generation, member.version = old, generation, release.version
    if old not in draft.routing.referencing():
        draft.add(Reference(group.asg_name, old))
    if not untouched:
        draft.add(RollbackRefresh(group.asg_name, release))
        draft.add(WaitRefresh(group.asg_name, release, _refresh_timeout(cfg, group), rollback=True))
    if draft.routing.default != old:
        draft.add(WaitReady(group.asg_name, member.label, old, release.version, cfg.wait.timeout))
        draft.route_to(desired.promoted(old))
    _leave(draft, group.asg_name, generation, group.target_groups, group.leaving, keep=old)
    _finalize(draft)
    return draft.plan()


# -- promote -------------------------------------------------------------------------------------


def _promote(request: Request, state: FleetState, cfg: StageConfig) -> Plan:
    blue = require_blue(state)
    _check_topology_switch(state, cfg)
    candidate = state.green
    draft = Draft(state, cfg, "promote")
    _settle(draft, keep={candidate.arn} if candidate else set())
    if candidate is None:
        # Its own work, recorded before its first route change, may be done or half-done;
        # anything else is not a promote's to finish.
        if state.transition != f"promote:{blue.generation}":
            raise Refused("nothing to promote: there is no green candidate (deploy a new version first)")
        _finalize(draft)
        draft.message = (
            f"finishing the promote of {blue.name}" if draft.steps else f"already promoted: {blue.name} serves everyone"
        )
        return draft.plan()
    member = draft.members[candidate.asg_name]
    if member.target_group not in draft.routing.referencing():
        draft.add(Reference(member.name, member.arn))
    draft.add(WaitReady(member.name, member.label, member.arn, member.version, cfg.wait.timeout))
    _promote_to(draft, member)
    _finalize(draft)
    return draft.plan()


# -- rollback ------------------------------------------------------------------------------------


def _rollback(request: Request, state: FleetState, cfg: StageConfig) -> Plan:
    blue = require_blue(state)
    _check_topology_switch(state, cfg)
    candidate = state.green
    generation = request.generation
    draft = Draft(state, cfg, "rollback")
    if cfg.topology == "single-group":
        if _rolled_back_to(state, blue) and _single_rollback_leaves(state, blue) is None:
            draft.message = f"already rolled back: {blue.name} serves everyone"
            _leave(draft, blue.asg_name, blue.generation, (), blue.leaving)  # stopped after the detach
            _finalize(draft)
            return draft.plan()
        return _rollback_single(draft, blue)
    if candidate is not None:
        if generation not in (None, blue.generation):
            raise Refused(f"green candidate {candidate.name} is deployed; roll it back first (no --generation)")
        # Before promote: everyone back on blue, the candidate retired.
        _settle(draft, keep=set())
        draft.add(Record(f"rollback:{candidate.generation}:{blue.generation}", cfg.topology))
        _retire_intent(draft, draft.members[candidate.asg_name])
        draft.route_to(desired.at_rest(blue.arn))
        _unreference(draft, draft.members[candidate.asg_name])
        _finalize(draft)
        return draft.plan()

    if generation is None and _rolled_back_to(state, blue):
        _settle(draft, keep=set())
        _finalize(draft)
        draft.message = (
            f"already rolled back: {blue.name} serves everyone; to go back further, name the"
            " generation (rollback --generation N)"
        )
        return draft.plan()
    target = _rollback_target(state, blue, generation)
    _settle(draft, keep={target.arn})
    member = draft.members[target.asg_name]
    if target.saved_capacity is not None:
        draft.add(ScaleUp(target.asg_name, target.saved_capacity))
    if member.target_group not in draft.routing.referencing():
        draft.add(Reference(member.name, member.arn))
    draft.add(WaitReady(member.name, member.label, member.arn, member.version, cfg.wait.timeout))
    draft.add(Record(f"rollback:{blue.generation}:{target.generation}", cfg.topology))
    _retire_intent(draft, draft.members[blue.asg_name])
    draft.route_to(desired.at_rest(target.arn))
    _finalize(draft)
    return draft.plan()


def _single_rollback_leaves(state: FleetState, group: Group) -> int | None:
    """A single-group rollback that stopped after retagging the group (its tags already name the
    generation it goes back to): the generation it leaves, else None."""
    parts = (state.transition or "").split(":")
    if len(parts) != 3 or parts[0] != "rollback" or parts[2] != str(group.generation) or parts[1] == parts[2]:
        return None
    done = len(group.target_groups) == 1 and not state.routing.warming and not (group.refresh and group.refresh.active)
    return None if done else int(parts[1])


def _rolled_back_to(state: FleetState, blue: Group) -> bool:
    """The last transition recorded is a rollback that ended on the current blue."""
    parts = (state.transition or "").split(":")
    return len(parts) == 3 and parts[0] == "rollback" and parts[2] == str(blue.generation)


def _rollback_target(state: FleetState, blue: Group, generation: int | None) -> Group:
    if generation is None:
        usable = [g for g in state.standby if g.target_group_arn]
        if not usable:
            raise Refused("nothing to roll back to: there is no green candidate and no standby generation")
        return usable[0]
    if generation == blue.generation:
        raise Refused(f"generation {generation} is already blue")
    target = next((g for g in state.groups if g.generation == generation), None)
    if target is None or target.role not in (Role.STANDBY, Role.RETIRED) or not target.arn:
        have = ", ".join(f"g{g.generation} {g.role.value}" for g in state.groups)
        reused = ""
        if target is None and generation < state.next_generation:
            reused = (
                "; in a fixed pair a group is reused by the release after next, and the generation it ran is gone"
                if state.spares or len(state.groups) == 2
                else "; it was deleted"
            )
        raise Refused(f"--generation {generation}: not a standby or kept generation (have: {have}){reused}")
    return target


def _retire_intent(draft: Draft, member: _Member) -> None:
    """Tag the group retired before any route changes: a re-run after a crash never takes it
    for a standby to come back to."""
    if member.tagged != Role.RETIRED:
        draft.add(SetRole(member.name, member.label, Role.RETIRED, member.target_group))


# -- cleanup, retire, shift ----------------------------------------------------------------------


def _cleanup(request: Request, state: FleetState, cfg: StageConfig) -> Plan:
    require_blue(state)
    draft = Draft(state, cfg, "cleanup")
    _settle(draft, keep=set())
    _finalize(draft, delete_retired=True)
    return draft.plan()


def _retire(request: Request, state: FleetState, cfg: StageConfig) -> Plan:
    require_blue(state)
    draft = Draft(state, cfg, "retire")
    _settle(draft, keep=set())
    _finalize(draft)
    return draft.plan()


def _shift(request: Request, state: FleetState, cfg: StageConfig) -> Plan:
    """One weighted step on its own: `weight` percent of the default route to the candidate
    (100 promotes it, 0 takes it out of the default route)."""
    blue = require_blue(state)
    candidate = state.green
    if candidate is None:
        raise Refused("nothing to shift: there is no green candidate (deploy a new version first)")
    draft = Draft(state, cfg, "shift")
    _settle(draft, keep={candidate.arn})
    member = draft.members[candidate.asg_name]
    weight = request.weight if request.weight is not None else 100
    share = draft.routing.share(member.arn) if draft.routing.split else 0
    if 0 < share < weight:
        # The previous step was held outside the runner (Jenkins' sleep between two shifts):
        # before going further, the alarms now and the 5xx share over that hold. One that
        # fired rolls back, as during a hold of `deploy`.
        draft.add(
            Watch(
                member.name,
                member.arn,
                0,
                f"the hold at {share}% before this step",
                looking_back=cfg.routing.step_pause,
            )
        )
    # Like `phase route`, a single step does not wait: it refuses when the servers are not all
    # ready (`phase wait` waits).
    if weight >= 100:
        _promote_to(draft, member)
    elif draft.routing.share(member.arn) != weight or not draft.routing.split:
        if weight == 0:
            draft.route_to(Routing(blue.arn, draft.routing.blue, draft.routing.green))
        else:
            draft.add(Shift(weight, member.arn, blue.arn))
    _finalize(draft)
    return draft.plan()


# -- the parts every command shares ----------------------------------------------------------------


def _settle(draft: Draft, keep: set) -> None:
    """Finish what a stopped run left half-done. `keep`: weight-0 references the command needs."""
    state = draft.state
    _sync_login(draft)
    routing = draft.routing
    primary = state.group_of(routing.default)
    if primary is not None and not routing.split:
        # The default route is the truth: the blue header follows it, and a candidate that
        # already serves everyone is no longer a candidate.
        if routing.blue is not None and routing.blue != routing.default:
            draft.add(Route("blue", routing.default, routing.blue))
        if routing.green == routing.default:
            draft.add(Route("green", FIXED_404, routing.green))
    for target in draft.routing.warming:
        group = state.group_of(target)
        if group is None or target in keep:
            continue
        draft.add(Unreference(group.asg_name, target))
    if draft.command != "deploy":
        for orphan in state.orphans:
            draft.add(
                DeleteTargetGroup(orphan.name, orphan.arn, "left by a deploy that stopped before creating its group")
            )


def _sync_login(draft: Draft) -> None:
    """Our header rules must log users in exactly like the default action, or a header would
    be a way around the login."""
    listener = draft.state.listener
    for route, rule in sorted(listener.ours.items()):
        current = next((r for r in listener.rules if r["RuleArn"] == rule.arn), None)
        if current is not None and not same_login(current["Actions"], listener.default_actions):
            draft.add(SyncLogin(route))


def _unreference(draft: Draft, member: _Member) -> None:
    if member.target_group in draft.routing.warming:
        draft.add(Unreference(member.name, member.arn))


def _finalize(draft: Draft, delete_retired: bool = False) -> None:
    """Role tags as the routing leaves them, serving groups unstamped, the retire policy."""
    serving = draft.routing.serving()
    for member in sorted(draft.members.values(), key=lambda m: m.generation):
        role = draft.role_of(member)
        if member.tagged != role:
            draft.add(SetRole(member.name, member.label, role, member.target_group))
        group = member.group
        if (
            group is not None
            and group.unrouted_at is None
            and role in (Role.STANDBY, Role.RETIRED)
            and member.target_group not in serving
        ):
            draft.add(MarkUnrouted(member.name))
        if group is not None and member.target_group in serving:
            if group.unrouted_at is not None:
                draft.add(ClearUnrouted(member.name))
            if group.saved_capacity is not None and not draft.of_kind_for(ScaleUp, member.name):
                draft.add(ScaleUp(member.name, group.saved_capacity))  # it serves: forget the remembered size
    blue = next((m for m in draft.members.values() if draft.role_of(m) == Role.BLUE), None)
    for member in draft.members.values():
        if blue is not None and member is not blue and member.group is not None and member.group.schedules:
            draft.add(MoveSchedules(member.name, blue.name))
    for step in _retire_policy(draft, delete_retired):
        draft.add(step)


def _retire_policy(draft: Draft, delete_retired: bool) -> list[Step]:
    """What happens to groups no route sends traffic to: standby, scale-to-zero or delete
    (retire.previous, at most retire.keep standby generations), and retired candidates deleted
    (retire.candidate: terminate; cleanup deletes kept ones too)."""
    policy = draft.cfg.retire
    referenced = draft.routing.referencing()
    keep = 0 if policy.previous == "terminate" else policy.keep
    steps: list[Step] = []
    existing = [m for m in draft.members.values() if m.group is not None and m.target_group not in referenced]
    if draft.cfg.topology == "fixed-pair":
        # The two groups are never deleted: one that does not serve keeps its target group (a
        # standby can come back) and is scaled to zero unless retire.previous is standby.
        pair = pair_members(draft.state, draft.cfg)
        for member in [m for m in existing if m.name in pair]:
            role = draft.role_of(member)
            zero = role == Role.RETIRED or (role == Role.STANDBY and policy.previous != "standby")
            if zero and member.group.capacity.desired > 0:
                steps.append(ScaleToZero(member.name, member.label, member.group.capacity))
        existing = [m for m in existing if m.name not in pair]
    standby = sorted((m for m in existing if draft.role_of(m) == Role.STANDBY), key=lambda m: -m.generation)
    for index, member in enumerate(standby):
        group = member.group
        if member.target_group is None:
            steps.append(DeleteGroup(member.name, member.label, None, "its target group is already deleted"))
        elif index >= keep:
            why = f"standby beyond retire.keep ({keep})" if keep else "retire.previous is terminate"
            steps.append(DeleteGroup(member.name, member.label, member.target_group, why))
        elif policy.previous == "scale-to-zero" and group.capacity.desired > 0:
            steps.append(ScaleToZero(member.name, member.label, group.capacity))
    for member in sorted((m for m in existing if draft.role_of(m) == Role.RETIRED), key=lambda m: m.generation):
        if member.target_group is None or delete_retired or policy.candidate == "terminate":
            steps.append(DeleteGroup(member.name, member.label, member.target_group, "retired"))
    return steps


def abandon(state: FleetState, cfg: StageConfig, group_name: str, keep: bool) -> Plan:
    """A candidate that never became ready and serves nobody: stop health-checking it, then
    delete it (or keep it, role retired, for debugging)."""
    group = state.group_named(group_name)
    draft = Draft(state, cfg, "abandon")
    if group is None:
        return draft.plan()
    member = draft.members[group_name]
    _unreference(draft, member)
    if keep:
        _retire_intent(draft, member)
    else:
        draft.add(DeleteGroup(member.name, member.label, member.target_group, "never became ready", never_routed=True))
    return draft.plan()
