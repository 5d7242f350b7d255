"""The login page: plain HTML served by Flask outside Dash (so nothing of the app loads before a login)."""

from __future__ import annotations

from flask import render_template_string

CREDENCIALES_INVALIDAS = "Usuario o contraseña incorrectos."
DEMASIADOS_INTENTOS = "Demasiados intentos fallidos. Vuelva a intentar en {minutos} min."
FORMULARIO_VENCIDO = "El formulario venció. Vuelva a ingresar sus datos."
SESION_CERRADA = "Sesión cerrada."
REMOTE_USER_DESCONOCIDO = "Su usuario ({usuario}) no tiene acceso a este tablero. Pídalo al administrador."

# Jinja autoescapes string templates in Flask, so the user name typed and the messages are escaped.
_PLANTILLA = """<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Ingresar — {{ titulo }}</title>
<style>
body { font-family: system-ui, sans-serif; background: #f4f6f8; margin: 0; }
main { max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem; border-radius: 8px;
       box-shadow: 0 1px 4px rgba(0,0,0,.15); }
h1 { font-size: 1.25rem; margin-top: 0; }
label { display: block; margin-top: 1rem; font-size: .9rem; }
input[type=text], input[type=password] { width: 100%; box-sizing: border-box; padding: .5rem; margin-top: .25rem; }
button { margin-top: 1.5rem; width: 100%; padding: .6rem; background: #1f4e79; color: #fff; border: 0;
         border-radius: 4px; font-size: 1rem; cursor: pointer; }
.mensaje { margin-top: 1rem; padding: .5rem; background: #fdecea; color: #8a1c12; border-radius: 4px; }
.aviso { background: #e8f1fb; color: #1f4e79; }
</style>
</head>
<body>
<main>
<h1>{{ titulo }}</h1>
{% if mensaje %}
<p id="mensaje-login" class="mensaje{% if aviso %} aviso{% endif %}" role="alert">{{ mensaje }}</p>
{% endif %}
{% if formulario %}
<form method="post" action="{{ accion }}" autocomplete="on">
<input type="hidden" name="csrf" value="{{ csrf }}">
<input type="hidden" name="next" value="{{ siguiente }}">
<label for="usuario">Usuario</label>
<input type="text" id="usuario" name="usuario" value="{{ usuario }}" autocomplete="username" required autofocus>
<label for="clave">Contraseña</label>
<input type="password" id="clave" name="clave" autocomplete="current-password" required>
<button type="submit" id="ingresar">Ingresar</button>
</form>
{% endif %}
</main>
</body>
</html>
"""


def pagina(
    titulo: str,
    *,
    accion: str = "",
    csrf: str = "",
    siguiente: str = "/",
    usuario: str = "",
    mensaje: str = "",
    aviso: bool = False,
    formulario: bool = True,
) -> str:
    """The page's HTML: the form (unless `formulario` is False) and an error or notice (`aviso`) above it."""
    return render_template_string(
        _PLANTILLA,
        titulo=titulo,
        accion=accion,
        csrf=csrf,
        siguiente=siguiente,
        usuario=usuario,
        mensaje=mensaje,
        aviso=aviso,
        formulario=formulario,
    )
