"""Moodle rows (users, courses, enrolments, standard log, mod_attendance) for the simulated students."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from dwh.synthetic import catalogs
from dwh.synthetic.arrow_util import const, dense_ids, floats, from_rows, ints, table, texts
from dwh.synthetic.params import SUBJECTS_PER_PLAN, annual_class_period, annual_subjects, class_period
from dwh.synthetic.simulate import SourceWorld, day_number

SESSIONS_PER_COURSE = 8
MODULES = ["resource", "forum", "assign", "quiz"]


@dataclass
class MoodleLink:
    """What Moodle needs from one Guaraní source: who the students are and their login (DNI)."""

    world: SourceWorld
    source_name: str
    usuario: np.ndarray
    has_usuario: np.ndarray
    elemento_codes: np.ndarray


def build_moodle(
    links: list[MoodleLink], seed: int, first_year: int, moodle_from: int, events_per_course: float
) -> dict[str, pa.Table]:
    """One Moodle site shared by all sources; courses exist from academic year moodle_from on."""
    rng = np.random.default_rng([seed, 99])
    out: dict[str, pa.Table] = {}
    # Users: 1 guest, 2 admin, then students source by source, then teachers.
    names, idnumbers, deleted, suspended, created = [], [], [], [], []
    user_of: list[np.ndarray] = []
    next_id = 3
    for link in links:
        st = link.world.students
        has = st["moodle_user"] & link.has_usuario
        ids = np.full(st["z"].size, -1)
        # One account per person: a second career logs in with the account of the first (same DNI).
        owners = _account_owners(st, has)
        k = owners.size
        ids[owners] = np.arange(k) + next_id
        if "first_career" in st:
            second = has & (st["first_career"] >= 0)
            ids[second] = ids[st["first_career"][second]]
        next_id += k
        user_of.append(ids)
        usuario = link.usuario[owners].astype(str)
        # A few accounts were created by hand with a decorated username; only idnumber holds the DNI.
        odd = rng.random(k) < 0.01
        names.append(np.where(odd, np.char.add("e", usuario), usuario))
        idnumbers.append(np.where(odd | (rng.random(k) < 0.3), usuario, ""))
        deleted.append((rng.random(k) < 0.005).astype(int))
        suspended.append((rng.random(k) < 0.01).astype(int))
        created.append(np.array([day_number(dt.date(int(y), 3, 1)) for y in st["cohort"][owners]]) * 86400)
    n_teachers = max(2, next_id // 40)
    names.append(np.array([f"docente{i:05d}" for i in range(n_teachers)]))
    idnumbers.append(np.full(n_teachers, ""))
    deleted.append(np.zeros(n_teachers, int))
    suspended.append(np.zeros(n_teachers, int))
    created.append(np.full(n_teachers, day_number(dt.date(first_year, 2, 1)) * 86400))
    usernames = np.r_[np.array(["guest", "admin"]), np.concatenate(names)]
    nu = usernames.size
    out["mdl_user"] = table(
        id=ints(np.arange(nu) + 1),
        auth=texts(np.where(np.arange(nu) == 0, "manual", "ldap").astype(object)),
        confirmed=ints(np.ones(nu)),
        mnethostid=ints(np.ones(nu)),
        username=texts(usernames.astype(object)),
        password=texts(const("not cached", nu)),
        idnumber=texts(np.r_[np.array(["", ""]), np.concatenate(idnumbers)].astype(object)),
        deleted=ints(np.r_[0, 0, np.concatenate(deleted)]),
        suspended=ints(np.r_[0, 0, np.concatenate(suspended)]),
        lang=texts(const("es", nu)),
        timezone=texts(const("America/Argentina/Buenos_Aires", nu)),
        timecreated=ints(np.r_[0, 0, np.concatenate(created)]),
    )
    teacher_ids = np.arange(n_teachers) + (nu - n_teachers + 1)

    # Courses: one per source, subject and cuatrimestre, from moodle_from on.
    rows = []
    for s, link in enumerate(links):
        c = link.world.cursadas
        st = link.world.students
        # Cuatrimestres counted from the run's first year (a migrated source's own calendar starts earlier).
        sem = c["sem"] + 2 * (link.world.config.first_year - first_year)
        year = first_year + sem // 2
        keep = (year >= moodle_from) & (user_of[s][c["stu"]] > 0)
        idx = np.flatnonzero(keep)
        elemento = st["propuesta"][c["stu"][idx]] * SUBJECTS_PER_PLAN + c["subj"][idx]
        rows.append(
            (
                s,
                idx,
                elemento,
                sem[idx],
                user_of[s][c["stu"][idx]],
                c["att"][idx],
                c["result"][idx],
                st["engagement"][c["stu"][idx]],
                # an annual course left mid-year: attendance until the day it was left, none after
                c.get("att_before_quit", c["att"])[idx],
                c.get("quit_day", np.full(c["att"].size, -1))[idx],
            )
        )
    src = np.concatenate([np.full(r[1].size, r[0]) for r in rows])
    elemento = np.concatenate([r[2] for r in rows])
    sem = np.concatenate([r[3] for r in rows])
    userid = np.concatenate([r[4] for r in rows])
    att = np.concatenate([r[5] for r in rows])
    result = np.concatenate([r[6] for r in rows])
    engagement = np.concatenate([r[7] for r in rows])
    att_before_quit = np.concatenate([r[8] for r in rows])
    quit_day = np.concatenate([r[9] for r in rows])
    course_key = (src.astype(np.int64) * 1000 + sem) * 100000 + elemento
    course_uniq, course_local = dense_ids(course_key)
    course_local = course_local - 1  # 0-based; course ids start at 2 (1 is the site course)
    nc = course_uniq.size
    c_src = course_uniq // 100000 // 1000
    c_sem = (course_uniq // 100000) % 1000
    c_el = course_uniq % 100000
    codes = (
        np.concatenate(
            [
                [links[s].elemento_codes[e] for s, e in zip(c_src[c_src == i], c_el[c_src == i])]
                for i in range(len(links))
            ]
        ).astype(str)
        if nc
        else np.array([], str)
    )
    year_label = (first_year + c_sem // 2).astype(str)
    cuat = np.char.add("C", (c_sem % 2 + 1).astype(str))
    shortname = np.char.add(np.char.add(np.char.add(codes, "-"), year_label), np.char.add("-", cuat))
    source_names = np.array([link.source_name for link in links])
    start = np.array([day_number(class_period(int(s), first_year)[0]) for s in range(int(c_sem.max(initial=0)) + 2)])
    end = np.array([day_number(class_period(int(s), first_year)[1]) for s in range(int(c_sem.max(initial=0)) + 2)])
    annual = np.zeros(nc, dtype=bool)
    end_day = end[c_sem]
    if nc and any("annual" in link.world.cursadas for link in links):
        # An annual subject's course runs from March to November.
        annual = annual_subjects()[c_el % SUBJECTS_PER_PLAN]
        year_end = np.array([day_number(annual_class_period(first_year + int(s) // 2)[1]) for s in c_sem])
        end_day = np.where(annual, year_end, end_day)
    c_start = start[c_sem].astype(np.int64) * 86400
    c_end = end_day.astype(np.int64) * 86400 + 86399
    categories = np.unique(c_src * 100 + c_el // SUBJECTS_PER_PLAN)
    out["mdl_course_categories"] = table(
        id=ints(np.arange(categories.size) + 1),
        name=texts(
            np.array(
                [f"{links[int(k // 100)].source_name} / propuesta {int(k % 100) + 1}" for k in categories], dtype=object
            )
        ),
        idnumber=texts(
            np.array([f"{links[int(k // 100)].source_name}:{int(k % 100) + 1}" for k in categories], dtype=object)
        ),
        parent=ints(np.zeros(categories.size)),
        sortorder=ints(np.arange(categories.size) * 10000),
        visible=ints(np.ones(categories.size)),
        path=texts(np.char.add("/", (np.arange(categories.size) + 1).astype(str)).astype(object)),
        depth=ints(np.ones(categories.size)),
    )
    cat_of = np.searchsorted(categories, c_src * 100 + c_el // SUBJECTS_PER_PLAN) + 1
    out["mdl_course"] = table(
        id=ints(np.r_[1, np.arange(nc) + 2]),
        category=ints(np.r_[0, cat_of]),
        sortorder=ints(np.r_[0, np.arange(nc) + 1]),
        fullname=texts(np.r_[np.array(["Campus virtual"]), shortname].astype(object)),
        shortname=texts(np.r_[np.array(["campus"]), shortname].astype(object)),
        idnumber=texts(
            np.r_[np.array([""]), np.char.add(np.char.add(source_names[c_src], ":"), shortname)].astype(object)
        ),
        format=texts(const("topics", nc + 1)),
        startdate=ints(np.r_[0, c_start]),
        enddate=ints(np.r_[0, c_end]),
        visible=ints(np.ones(nc + 1)),
        timecreated=ints(np.r_[0, c_start - 30 * 86400]),
        timemodified=ints(np.r_[0, c_start - 30 * 86400]),
    )
    # Enrolment: one manual instance per course.
    out["mdl_enrol"] = table(
        id=ints(np.arange(nc) + 1),
        enrol=texts(const("manual", nc)),
        status=ints(np.zeros(nc)),
        courseid=ints(np.arange(nc) + 2),
        roleid=ints(np.full(nc, 5)),
        timecreated=ints(c_start - 30 * 86400),
        timemodified=ints(c_start - 30 * 86400),
    )
    ne = userid.size
    enrolid = course_local + 1
    e_start = c_start[course_local]
    out["mdl_user_enrolments"] = table(
        id=ints(np.arange(ne) + 1),
        status=ints(np.zeros(ne)),
        enrolid=ints(enrolid),
        userid=ints(userid),
        timestart=ints(e_start - 7 * 86400),
        timeend=ints(np.zeros(ne)),
        modifierid=ints(np.full(ne, 2)),
        timecreated=ints(e_start - 10 * 86400),
        timemodified=ints(e_start - 10 * 86400),
    )
    out["mdl_role"] = from_rows(
        ["id", "name", "shortname", "description", "sortorder", "archetype"],
        [
            (i + 1, "", sn, "", i + 1, sn)
            for i, sn in enumerate(
                ["manager", "coursecreator", "editingteacher", "teacher", "student", "guest", "user", "frontpage"]
            )
        ],
    )
    ctx_ids = np.arange(nc) + 2
    out["mdl_context"] = table(
        id=ints(np.r_[1, ctx_ids]),
        contextlevel=ints(np.r_[10, np.full(nc, 50)]),
        instanceid=ints(np.r_[0, np.arange(nc) + 2]),
        path=texts(np.r_[np.array(["/1"]), np.char.add("/1/", ctx_ids.astype(str))].astype(object)),
        depth=ints(np.r_[1, np.full(nc, 2)]),
    )
    teacher_of = teacher_ids[np.arange(nc) % teacher_ids.size]
    out["mdl_role_assignments"] = table(
        id=ints(np.arange(ne + nc) + 1),
        roleid=ints(np.r_[np.full(ne, 5), np.full(nc, 3)]),
        contextid=ints(np.r_[ctx_ids[course_local], ctx_ids]),
        userid=ints(np.r_[userid, teacher_of]),
        timemodified=ints(np.r_[e_start - 10 * 86400, c_start - 30 * 86400]),
        modifierid=ints(np.full(ne + nc, 2)),
    )
    out["mdl_modules"] = from_rows(
        ["id", "name", "visible"], [(i + 1, m, 1) for i, m in enumerate(MODULES + ["attendance"])]
    )
    cm_course = np.repeat(np.arange(nc) + 2, len(MODULES))
    out["mdl_course_modules"] = table(
        id=ints(np.arange(cm_course.size) + 1),
        course=ints(cm_course),
        module=ints(np.tile(np.arange(len(MODULES)) + 1, nc)),
        instance=ints(np.arange(cm_course.size) + 1),
        section=ints(np.ones(cm_course.size)),
        added=ints(np.repeat(c_start, len(MODULES))),
        visible=ints(np.ones(cm_course.size)),
    )
    enrolment = Enrolments(userid, course_local, att, result, engagement, att_before_quit, quit_day)
    out.update(_logs(rng, enrolment, c_start, c_end, events_per_course))
    out.update(_attendance(rng, enrolment, c_start, annual, nc))
    return out


def _account_owners(st: dict, has: np.ndarray) -> np.ndarray:
    """Students whose login creates a Moodle account (not a second career of a person who has one)."""
    if "first_career" not in st:
        return np.flatnonzero(has)
    return np.flatnonzero(has & (st["first_career"] < 0))


@dataclass
class Enrolments:
    """One row per Moodle enrolment (a cursada in a course that has a Moodle site)."""

    userid: np.ndarray
    course_local: np.ndarray
    att: np.ndarray
    result: np.ndarray
    engagement: np.ndarray
    att_before_quit: np.ndarray
    quit_day: np.ndarray  # day number the course was left (annual courses), -1 if not


def _logs(rng, e: Enrolments, c_start, c_end, per_course) -> dict[str, pa.Table]:
    """Standard-log events per enrolment: more for engaged students, early-only for those who abandon."""
    userid, course_local, att = e.userid, e.course_local, e.att
    lam = per_course * np.exp(0.6 * e.engagement) * (0.3 + att) * np.where(e.result == "U", 0.4, 1.0)
    counts = rng.poisson(lam)
    row = np.repeat(np.arange(userid.size), counts)
    m = row.size
    span = (c_end - c_start)[course_local[row]]
    left = e.quit_day[row] >= 0
    span = np.where(left, np.minimum(span, e.quit_day[row] * 86400 - c_start[course_local[row]]), span)
    # Low attendance means activity fades: skew times towards the start of the cuatrimestre.
    skew = 1.0 + 2.5 * (1.0 - att[row])
    when = c_start[course_local[row]] + (span * rng.random(m) ** skew).astype(np.int64)
    kind = rng.choice(len(catalogs.MOODLE_EVENTS), m, p=catalogs.MOODLE_EVENT_WEIGHTS)
    ev = catalogs.MOODLE_EVENTS
    pick = lambda i: np.array([e[i] for e in ev], dtype=object)[kind]  # noqa: E731
    level = np.array([e[5] for e in ev])[kind]
    course_id = course_local[row] + 2
    cm = course_local[row] * len(MODULES) + np.array([0, 0, 1, 1, 2, 2, 3, 3])[kind] + 1
    order = np.argsort(when, kind="stable")
    return {
        "mdl_logstore_standard_log": table(
            id=ints(np.arange(m) + 1),
            eventname=texts(pick(0)[order]),
            component=texts(pick(1)[order]),
            action=texts(pick(2)[order]),
            target=texts(pick(3)[order]),
            crud=texts(pick(4)[order]),
            edulevel=ints(np.full(m, 2)),
            contextid=ints(np.where(level == 50, course_id, 100000 + cm)[order]),
            contextlevel=ints(level[order]),
            contextinstanceid=ints(np.where(level == 50, course_id, cm)[order]),
            userid=ints(userid[row][order]),
            courseid=ints(course_id[order]),
            anonymous=ints(np.zeros(m)),
            other=texts(const("N;", m)),
            timecreated=ints(when[order]),
            origin=texts(const("web", m)),
        )
    }


def _attendance(rng, e: Enrolments, c_start, annual, nc) -> dict[str, pa.Table]:
    """mod_attendance in one course out of five: weekly sessions, a status per enrolled student."""
    with_att = np.flatnonzero(np.arange(nc) % 5 == 0)
    na = with_att.size
    att_of_course = np.full(nc, -1)
    att_of_course[with_att] = np.arange(na) + 1
    out = {
        "mdl_attendance": table(
            id=ints(np.arange(na) + 1),
            course=ints(with_att + 2),
            name=texts(const("Asistencia", na)),
            grade=ints(np.full(na, 100)),
            sessiondetailspos=texts(const("left", na)),
        )
    }
    status_att = np.r_[np.zeros(len(catalogs.ATTENDANCE_STATUSES)), np.repeat(np.arange(na) + 1, 4)]
    acr = np.array([s[0] for s in catalogs.ATTENDANCE_STATUSES], dtype=object)
    out["mdl_attendance_statuses"] = table(
        id=ints(np.arange(status_att.size) + 1),
        attendanceid=ints(status_att),
        acronym=texts(np.tile(acr, na + 1)),
        description=texts(np.tile(np.array([s[1] for s in catalogs.ATTENDANCE_STATUSES], dtype=object), na + 1)),
        grade=floats(np.tile([s[2] for s in catalogs.ATTENDANCE_STATUSES], na + 1)),
        visible=ints(np.ones(status_att.size)),
        deleted=ints(np.zeros(status_att.size)),
        setnumber=ints(np.zeros(status_att.size)),
    )
    s_att = np.repeat(np.arange(na), SESSIONS_PER_COURSE)
    s_no = np.tile(np.arange(SESSIONS_PER_COURSE), na)
    course = with_att[s_att]
    # weekly-ish sessions: every 12 days over a cuatrimestre, every 24 over an annual course
    step = np.where(annual[course], 24, 12) * 86400
    sessdate = c_start[course] + step + s_no * step + 21 * 3600
    ns = s_att.size
    out["mdl_attendance_sessions"] = table(
        id=ints(np.arange(ns) + 1),
        attendanceid=ints(s_att + 1),
        groupid=ints(np.zeros(ns)),
        sessdate=ints(sessdate),
        duration=ints(np.full(ns, 7200)),
        lasttaken=ints(sessdate + 7200),
        lasttakenby=ints(np.full(ns, 2)),
        timemodified=ints(sessdate + 7200),
        description=texts(const("Clase regular", ns)),
    )
    userid, course_local = e.userid, e.course_local
    enr = np.flatnonzero(att_of_course[course_local] > 0)
    row = np.repeat(enr, SESSIONS_PER_COURSE)
    k = np.tile(np.arange(SESSIONS_PER_COURSE), enr.size)
    session = (att_of_course[course_local[row]] - 1) * SESSIONS_PER_COURSE + k
    after_leaving = (e.quit_day[row] >= 0) & (sessdate[session] >= e.quit_day[row] * 86400)
    present = rng.random(row.size) < np.where(after_leaving, 0.0, e.att_before_quit[row])
    other = rng.choice([1, 2, 3], row.size, p=[0.75, 0.15, 0.1])
    status_local = np.where(present, 0, other)
    statusid = len(catalogs.ATTENDANCE_STATUSES) + (att_of_course[course_local[row]] - 1) * 4 + status_local + 1
    taken = sessdate[session] + 7200
    ml = row.size
    out["mdl_attendance_log"] = table(
        id=ints(np.arange(ml) + 1),
        sessionid=ints(session + 1),
        studentid=ints(userid[row]),
        statusid=ints(statusid),
        statusset=texts(const("1,2,3,4", ml)),
        timetaken=ints(taken),
        takenby=ints(np.full(ml, 2)),
    )
    return out
