"""What a parent does: onboarding, children, catalogue, certificates, enrollments."""

from aiogram import Router

from handlers.parent import (
    catalog,
    certificates,
    children,
    complaints,
    enrollments,
    events,
    family,
    feedback,
    news,
    onboarding,
    privacy,
    settings,
)

router = Router(name="parent")
router.include_router(events.router)  # 🎉 events; its ?start=event_<id> before plain /start
router.include_router(family.router)  # issue 15: ?start=invite_<token> before plain /start
# The catalogue's deep-link /start (program_<id>) must be tried before the plain /start.
router.include_routers(
    catalog.router, onboarding.router, children.router, certificates.router, enrollments.router
)
router.include_router(privacy.router)  # /privacy: see and delete personal data
router.include_router(settings.router)  # /settings, class reminders' buttons
router.include_router(news.router)  # 🔕 under МОЦ announcements (issue 10)
router.include_router(feedback.router)  # issue 15: «Как занятия?» four weeks in
router.include_router(complaints.router)  # issue 15: «Не узнаю» under money and enrollment notices
