"""English and Spanish for the portal: a small message catalogue, no framework.

The language is the ``lang`` choice the user made on the page (kept in a cookie), else the
best match in ``Accept-Language`` (RFC 9110 §12.5.4), else English. Children's pages use
short words; every string a screen reader announces lives here too.
"""

from __future__ import annotations

__all__ = ["LANGUAGES", "Catalogue", "negotiate"]

LANGUAGES = ("en", "es")

_MESSAGES: dict[str, dict[str, str]] = {
    "en": {
        "lang_name": "English",
        "switch_to": "Español",
        "switch_label": "Cambiar a español",
        "sign_in": "Sign in",
        "welcome": "Welcome! Choose how to sign in.",
        "password_heading": "Sign in with your name and password",
        "username": "Username",
        "password": "Password",
        "sign_in_button": "Sign in",
        "badge_heading": "Sign in with my badge",
        "badge_button": "Use my badge",
        "badge_intro": "Hold your badge up to the camera.",
        "badge_camera_label": "Camera picture",
        "badge_camera_start": "Turn on the camera",
        "badge_camera_waiting": "Looking for your badge…",
        "badge_camera_off": "The camera is not available. You can upload a photo of the badge.",
        "badge_found": "Badge found! Signing in…",
        "badge_upload_heading": "Or upload a photo of your badge",
        "badge_upload_label": "Photo of the badge",
        "badge_upload_button": "Sign in with this photo",
        "badge_no_qr": "We could not read a badge in that photo. Try again.",
        "back_to_sign_in": "Back to sign in",
        "error_generic": "That did not work. Check and try again, or ask your teacher.",
        "error_throttled": "Too many tries. Please wait a few minutes and try again.",
        "error_csrf": "This page expired. Please try again.",
        "no_methods": "Sign-in is not available here yet. Ask your teacher.",
        "upstream_heading": "Sign in with your school account",
        "upstream_button": "Sign in with {name}",
        "upstream_unmatched_title": "We could not find you in this district",
        "upstream_unmatched_body": (
            "You signed in with your school account, but it is not on this district's list "
            "of students and staff. Ask your teacher or the school office to check it."
        ),
        "upstream_failed": "Signing in with your school account did not work. Please try again.",
        "upstream_unavailable": (
            "Your school account service is not answering right now. Please try again in a "
            "few minutes, or sign in another way."
        ),
        "apps_heading": "My apps",
        "apps_hello": "Hi, {name}!",
        "apps_none": "No apps yet. Ask your teacher.",
        "open_app": "Open {name}",
        "sign_out": "Sign out",
        "signed_out": "You signed out. See you soon!",
        "print_badges": "Print badges",
        "badges_heading": "Print QR badges",
        "badges_intro": "Printing makes new badges. Badges printed before for the same "
        "students stop working.",
        "badges_section": "Class",
        "badges_school": "School",
        "badges_print_button": "Print badges for {name}",
        "badges_none": "There is nothing you can print badges for.",
        "badges_manage": "Students of {name}",
        "badges_students_heading": "Students of {name}",
        "badges_new": "New badge for {name}",
        "badges_void": "Stop badge of {name}",
        "badges_voided": "Done: that badge no longer works.",
        "badges_voided_all": "Done: every badge of the district no longer works.",
        "badges_void_all_heading": "End of the school year",
        "badges_void_all_confirm": "Yes, stop every badge in the district",
        "badges_void_all_button": "Stop all badges",
        "usage_link": "App time goals",
        "usage_heading": "App time goals",
        "usage_created": "Done: the goal is saved.",
        "usage_deleted": "Done: the goal is deleted.",
        "usage_error_invalid": "Check the goal: minutes 1 to 10080, and the end date not "
        "before the start date.",
        "usage_goal_title": "{section}: {app}",
        "usage_goal_summary": "Goal: {minutes} minutes a week, {starts} to {ends}.",
        "usage_goal_inactive": "(not running now)",
        "usage_week": "This week ({starts} to {ends}):",
        "usage_met": "{met} of {total} students reached the goal.",
        "usage_student_minutes": "{minutes} of {goal} minutes",
        "usage_student_met": "goal reached",
        "usage_no_students": "No students in this class yet.",
        "usage_delete": "Delete goal {section}: {app}",
        "usage_none": "No goals yet.",
        "usage_new_heading": "Set a goal",
        "usage_section": "Class",
        "usage_app": "App",
        "usage_minutes": "Minutes per week",
        "usage_starts": "Starts on",
        "usage_ends": "Ends on",
        "usage_save": "Save goal",
        "usage_adoption_heading": "App use in the district",
        "usage_adoption_caption": "Active students and minutes per app",
        "usage_adoption_students_7": "Students, last 7 days",
        "usage_adoption_minutes_7": "Minutes, last 7 days",
        "usage_adoption_students_30": "Students, last 30 days",
        "usage_adoption_minutes_30": "Minutes, last 30 days",
        "usage_adoption_none": "No app use reported yet.",
        "not_found": "Not found",
        "skip_to_content": "Skip to main content",
    },
    "es": {
        "lang_name": "Español",
        "switch_to": "English",
        "switch_label": "Switch to English",
        "sign_in": "Entrar",
        "welcome": "¡Hola! Elige cómo entrar.",
        "password_heading": "Entra con tu nombre y contraseña",
        "username": "Nombre de usuario",
        "password": "Contraseña",
        "sign_in_button": "Entrar",
        "badge_heading": "Entrar con mi tarjeta",
        "badge_button": "Usar mi tarjeta",
        "badge_intro": "Muestra tu tarjeta a la cámara.",
        "badge_camera_label": "Imagen de la cámara",
        "badge_camera_start": "Encender la cámara",
        "badge_camera_waiting": "Buscando tu tarjeta…",
        "badge_camera_off": "La cámara no está disponible. Puedes subir una foto de la tarjeta.",
        "badge_found": "¡Tarjeta encontrada! Entrando…",
        "badge_upload_heading": "O sube una foto de tu tarjeta",
        "badge_upload_label": "Foto de la tarjeta",
        "badge_upload_button": "Entrar con esta foto",
        "badge_no_qr": "No pudimos leer una tarjeta en esa foto. Inténtalo otra vez.",
        "back_to_sign_in": "Volver",
        "error_generic": "No funcionó. Revisa e inténtalo otra vez, o pregunta a tu maestro.",
        "error_throttled": "Demasiados intentos. Espera unos minutos y vuelve a intentarlo.",
        "error_csrf": "Esta página caducó. Inténtalo otra vez.",
        "no_methods": "Todavía no se puede entrar aquí. Pregunta a tu maestro.",
        "upstream_heading": "Entra con tu cuenta de la escuela",
        "upstream_button": "Entrar con {name}",
        "upstream_unmatched_title": "No te encontramos en este distrito",
        "upstream_unmatched_body": (
            "Entraste con tu cuenta de la escuela, pero no está en la lista de estudiantes y "
            "personal de este distrito. Pide a tu maestro o a la oficina que la revisen."
        ),
        "upstream_failed": "No se pudo entrar con tu cuenta de la escuela. Inténtalo de nuevo.",
        "upstream_unavailable": (
            "El servicio de tu cuenta de la escuela no responde ahora. Inténtalo en unos "
            "minutos o entra de otra forma."
        ),
        "apps_heading": "Mis aplicaciones",
        "apps_hello": "¡Hola, {name}!",
        "apps_none": "Todavía no hay aplicaciones. Pregunta a tu maestro.",
        "open_app": "Abrir {name}",
        "sign_out": "Salir",
        "signed_out": "Has salido. ¡Hasta pronto!",
        "print_badges": "Imprimir tarjetas",
        "badges_heading": "Imprimir tarjetas QR",
        "badges_intro": "Imprimir crea tarjetas nuevas. Las tarjetas impresas antes para los "
        "mismos estudiantes dejan de funcionar.",
        "badges_section": "Clase",
        "badges_school": "Escuela",
        "badges_print_button": "Imprimir tarjetas de {name}",
        "badges_none": "No hay nada para lo que puedas imprimir tarjetas.",
        "badges_manage": "Estudiantes de {name}",
        "badges_students_heading": "Estudiantes de {name}",
        "badges_new": "Tarjeta nueva para {name}",
        "badges_void": "Anular la tarjeta de {name}",
        "badges_voided": "Hecho: esa tarjeta ya no funciona.",
        "badges_voided_all": "Hecho: ninguna tarjeta del distrito funciona ya.",
        "badges_void_all_heading": "Fin del año escolar",
        "badges_void_all_confirm": "Sí, anular todas las tarjetas del distrito",
        "badges_void_all_button": "Anular todas las tarjetas",
        "usage_link": "Metas de tiempo en aplicaciones",
        "usage_heading": "Metas de tiempo en aplicaciones",
        "usage_created": "Hecho: la meta está guardada.",
        "usage_deleted": "Hecho: la meta está borrada.",
        "usage_error_invalid": "Revisa la meta: minutos de 1 a 10080, y la fecha de fin no "
        "antes de la de inicio.",
        "usage_goal_title": "{section}: {app}",
        "usage_goal_summary": "Meta: {minutes} minutos por semana, del {starts} al {ends}.",
        "usage_goal_inactive": "(no está activa ahora)",
        "usage_week": "Esta semana (del {starts} al {ends}):",
        "usage_met": "{met} de {total} estudiantes alcanzaron la meta.",
        "usage_student_minutes": "{minutes} de {goal} minutos",
        "usage_student_met": "meta alcanzada",
        "usage_no_students": "Todavía no hay estudiantes en esta clase.",
        "usage_delete": "Borrar la meta {section}: {app}",
        "usage_none": "Todavía no hay metas.",
        "usage_new_heading": "Poner una meta",
        "usage_section": "Clase",
        "usage_app": "Aplicación",
        "usage_minutes": "Minutos por semana",
        "usage_starts": "Empieza el",
        "usage_ends": "Termina el",
        "usage_save": "Guardar la meta",
        "usage_adoption_heading": "Uso de aplicaciones en el distrito",
        "usage_adoption_caption": "Estudiantes activos y minutos por aplicación",
        "usage_adoption_students_7": "Estudiantes, últimos 7 días",
        "usage_adoption_minutes_7": "Minutos, últimos 7 días",
        "usage_adoption_students_30": "Estudiantes, últimos 30 días",
        "usage_adoption_minutes_30": "Minutos, últimos 30 días",
        "usage_adoption_none": "Todavía no se ha informado uso de aplicaciones.",
        "not_found": "No encontrado",
        "skip_to_content": "Ir al contenido principal",
    },
}


class Catalogue:
    """Messages of one language; ``t("key", name=…)`` formats, missing keys fail loudly."""

    def __init__(self, lang: str) -> None:
        self.lang = lang if lang in _MESSAGES else "en"
        self._messages = _MESSAGES[self.lang]
        self.other = "es" if self.lang == "en" else "en"

    def __call__(self, key: str, **values: str) -> str:
        text = self._messages[key]
        return text.format(**values) if values else text


def negotiate(accept_language: str | None, chosen: str | None = None) -> str:
    """The language to use: an explicit choice, else the best ``Accept-Language`` match."""
    if chosen in LANGUAGES:
        return str(chosen)
    best, best_q = "en", 0.0
    for index, part in enumerate((accept_language or "").split(",")[:20]):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        primary = tag.strip().lower().split("-")[0]
        # Earlier tags win ties: subtract a little for position.
        score = q - index * 1e-3
        if primary in LANGUAGES and score > best_q:
            best, best_q = primary, score
    return best
