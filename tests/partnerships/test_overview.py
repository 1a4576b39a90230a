"""The "My partnerships" cards: partners, the latest clip I may see, unread comments and open
next steps, in a constant number of queries."""

from __future__ import annotations

from datetime import date, timedelta

from tests.comments.test_comments_api import count_queries
from tests.conftest import sign_in_as
from videocoach import db
from videocoach.accounts.models import User
from videocoach.clips.models import Clip, ClipView
from videocoach.comments.models import Comment
from videocoach.db import utcnow
from videocoach.partnerships import services
from videocoach.partnerships.models import Membership, NextStep
from videocoach.partnerships.overview import partnership_cards


def add_partnership(app, teacher: User, coach: User, name: str, clips: int = 2) -> str:
    """A partnership with `clips` shared clips of the teacher's (the last the newest), a
    newer private clip of the coach's, two comments by the coach on the newest shared clip,
    and two next steps, one done."""
    with app.app_context():
        partnership = services.create_partnership(db.session.merge(teacher), name, "teacher")
        db.session.add(Membership(partnership_id=partnership.id, user_id=coach.id, role="coach"))
        start = utcnow() - timedelta(days=10)
        shared = []
        for i in range(clips):
            clip = Clip(
                partnership_id=partnership.id,
                uploaded_by_id=teacher.id,
                title=f"{name} lesson {i + 1}",
                visibility="shared",
                status="ready",
                recorded_on=date(2026, 10, 1 + i),
                created_at=start + timedelta(days=i),
            )
            db.session.add(clip)
            shared.append(clip)
        db.session.add(
            Clip(
                partnership_id=partnership.id,
                uploaded_by_id=coach.id,
                title=f"{name} coach's private",
                visibility="private",
                status="ready",
                created_at=start + timedelta(days=clips + 1),
            )
        )
        db.session.flush()
        if shared:
            for body in ("Lovely wait time", "Try a follow-up"):
                db.session.add(
                    Comment(clip_id=shared[-1].id, author_id=coach.id, body=body, t_start_ms=1000)
                )
        db.session.add_all(
            [
                NextStep(partnership_id=partnership.id, text="Plan the next lesson"),
                NextStep(partnership_id=partnership.id, text="Done already", done_at=utcnow()),
            ]
        )
        db.session.commit()
        return partnership.id


def cards_of(app, user: User):
    with app.app_context():
        return partnership_cards(db.session.merge(user))


def test_a_card_shows_the_partners_the_latest_visible_clip_and_the_counts(app, make_user):
    teacher, coach = make_user(name="Tess Teacher"), make_user(name="Cole Coach")
    pid = add_partnership(app, teacher, coach, "Tess + Cole")
    [card] = cards_of(app, teacher)
    assert card.partnership.id == pid
    assert card.my_role == "teacher"
    assert [(p.name, p.role, p.initials) for p in card.partners] == [("Cole Coach", "coach", "CC")]
    # The coach's newer clip is private: the teacher's newest shared one is the latest.
    assert card.latest_clip.title == "Tess + Cole lesson 2"
    assert card.unread_comments == 2
    assert card.open_next_steps == 1
    # The coach sees their own private clip as the latest, and no unread (their own comments).
    [coach_card] = cards_of(app, coach)
    assert coach_card.latest_clip.title == "Tess + Cole coach's private"
    assert coach_card.unread_comments == 0
    assert [p.name for p in coach_card.partners] == ["Tess Teacher"]


def test_opening_the_clip_clears_its_unread_comments_on_the_card(app, make_user):
    teacher, coach = make_user(), make_user()
    add_partnership(app, teacher, coach, "P")
    clip = cards_of(app, teacher)[0].latest_clip
    with app.app_context():
        db.session.add(ClipView(user_id=teacher.id, clip_id=clip.id, seen_at=utcnow()))
        db.session.commit()
    assert cards_of(app, teacher)[0].unread_comments == 0


def test_a_partnership_without_clips_or_partners_has_an_empty_card(app, make_user):
    loner = make_user()
    with app.app_context():
        services.create_partnership(db.session.merge(loner), "Just me", "coach")
        db.session.commit()
    [card] = cards_of(app, loner)
    assert card.partners == [] and card.latest_clip is None
    assert (card.unread_comments, card.open_next_steps) == (0, 0)


def test_the_cards_take_the_same_number_of_queries_for_two_or_six_partnerships(app, make_user):
    teacher, coach = make_user(), make_user()
    for i in range(2):
        add_partnership(app, teacher, coach, f"P{i}")

    def cards() -> None:
        with app.app_context():
            found = partnership_cards(db.session.get(User, teacher.id))
            # Everything the page reads, so a lazy load would be counted too.
            for card in found:
                _ = (
                    [p.initials for p in card.partners],
                    card.latest_clip and card.latest_clip.assets,
                )

    few = count_queries(app, cards)
    for i in range(2, 6):
        add_partnership(app, teacher, coach, f"P{i}", clips=1 + i % 3)
    many = count_queries(app, cards)
    assert len(cards_of(app, teacher)) == 6
    assert few == many


def test_the_list_page_shows_the_cards(app, make_user):
    teacher, coach = make_user(name="Tess Teacher"), make_user(name="Cole Coach")
    pid = add_partnership(app, teacher, coach, "Tess + Cole")
    client = app.test_client()
    sign_in_as(client, teacher.id)
    html = client.get("/partnerships").get_data(as_text=True)
    assert f'id="partnership-{pid}"' in html
    assert '<span class="partner-avatar" aria-hidden="true">CC</span>' in html
    assert "Cole Coach" in html and "Tess + Cole lesson 2" in html
    assert '<time datetime="2026-10-02">' in html
    assert "<strong>2</strong> unread comments" in html
    assert "<strong>1</strong> open next step<" in html
    assert "coach&#39;s private" not in html and "coach's private" not in html
