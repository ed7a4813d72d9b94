"""The printable Başvuru Raporu: a self-contained HTML page without scripts, and the policy it is served with."""

import base64
import hashlib
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from acikkapi.models import Application, ApplicationStatus, PublicStatus
from acikkapi.services.applications import residence_line
from acikkapi.services.staff_view import StaffView

ISTANBUL = ZoneInfo("Europe/Istanbul")
STYLE = ("body{font-family:sans-serif;margin:2em}table{border-collapse:collapse;width:100%}"
         "td,th{border:1px solid #999;padding:4px;text-align:left}@media print{.no-print{display:none}}")
# Nothing but this one style block may run or load: no scripts, no frames, no forms, no outside resources.
STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode()).digest()).decode()
REPORT_CSP = (f"default-src 'none'; style-src 'sha256-{STYLE_HASH}'; base-uri 'none'; form-action 'none'; "
              "frame-ancestors 'none'")


def local_time(moment: datetime) -> str:
    return moment.astimezone(ISTANBUL).strftime("%d.%m.%Y %H:%M")


def public_status(application: Application) -> PublicStatus:
    closed = application.status is ApplicationStatus.SONUCLANDI
    return PublicStatus.SONUCLANDI if closed else PublicStatus.ISLEM_GORUYOR


def citizen_status(application: Application) -> str:
    """The status as the citizen reads it: “İşlem Görüyor”, or “Sonuçlandı (Olumlu)” once closed."""
    if application.status is ApplicationStatus.SONUCLANDI and application.result:
        return f"Sonuçlandı ({application.result.value})"
    return public_status(application).value


def application_report_html(a: Application) -> str:
    e = escape
    place = a.subject_place
    rows = "".join(
        f"<tr><td>{c.position}</td><td>{e(c.category.name)}</td><td>{e(c.subcategory.name)}</td>"
        f"<td>{e(c.description or '')}</td></tr>" for c in a.categories)
    history = "".join(
        f"<tr><td>{i}</td><td>{e(ev.status.value)}</td><td>{e(ev.note or '')}</td><td>{local_time(ev.created_at)}</td></tr>"
        for i, ev in enumerate((ev for ev in a.events if ev.public), start=1))
    own_files = [f for f in a.attachments if f.routing_id is None]  # a unit's answer files are the office's
    files = "".join(f"<li>{e(f.file_name)}</li>" for f in own_files) or "<li>Dosya yok</li>"
    answer = (f"<h2>Başvuru Sonucu</h2><p><b>Sonuç:</b> {e(a.result.value)}</p><p>{e(a.answer or '')}</p>"
              if a.status is ApplicationStatus.SONUCLANDI and a.result else "")
    return f"""<!doctype html>
<html lang="tr"><head><meta charset="utf-8"><title>Başvuru Raporu {a.tracking_no}</title>
<style>{STYLE}</style>
</head><body>
<p class="no-print">Raporu yazdırmak için tarayıcınızın Yazdır komutunu (Ctrl+P) kullanabilirsiniz.</p>
<h1>Başvuru Raporu</h1>
<h2>Başvuru Özeti</h2>
<p><b>BAŞVURU NO:</b> {a.tracking_no} &nbsp; <b>Başvuru Durumu:</b> {e(citizen_status(a))}</p>
<p><b>T.C. Kimlik No:</b> {e(a.applicant_tckn)} &nbsp; <b>Adı Soyadı:</b> {e(a.applicant_first_name)} {e(a.applicant_last_name)}</p>
<p><b>İkametgah Açık Adresi:</b> {e(residence_line(a))}</p>
<h2>Başvuruya Konu Olan</h2>
<p><b>Açık Adres:</b> {e(a.subject_address)} {e(a.subject_district.name)} / {e(a.subject_province.name)}</p>
<p><b>İl:</b> {e(a.subject_province.name)} &nbsp; <b>İlçe:</b> {e(a.subject_district.name)} &nbsp;
<b>{e(place.kind.value)}:</b> {e(place.name)}</p>
<h2>Başvuru Konusu</h2><p>{e(a.subject)}</p>
<h2>Hizmet Başlıkları</h2>
<table><tr><th>Sıra</th><th>Hizmet Başlığı</th><th>Hizmet Alt Başlığı</th><th>Hizmet Açıklaması</th></tr>{rows}</table>
<h2>Yüklenen Dosyalar</h2><ul>{files}</ul>
{answer}
<h2>İşlem Hareketleri</h2>
<table><tr><th>Sıra</th><th>Durum</th><th>Açıklama</th><th>İşlem Tarihi</th></tr>{history}</table>
</body></html>"""


def staff_report_html(v: StaffView, *, personal: bool, identity: bool) -> str:
    """The Başvuru Raporu as staff print it (seed 000 §3.2.5): what their scope sees of the application, with
    the routings and the whole İşlem Hareketleri. Personal data only with `personal`, the applicant's name only
    with `identity` (see permissions/applications.py)."""
    e = escape
    hidden = "<i>gösterilmez</i>"
    name = f"{e(v.first_name)} {e(v.last_name)}" if identity else hidden
    status = v.status.value + (f" ({v.result.value})" if v.result else "")
    rows = "".join(
        f"<tr><td>{c.position}</td><td>{e(c.category)}</td><td>{e(c.subcategory)}</td>"
        f"<td>{e(c.description or '')}</td></tr>" for c in v.categories)
    routings = "".join(
        f"<tr><td>{e(r.unit.name)}</td><td>{e(r.status.value)}</td><td>{r.due_date:%d.%m.%Y}"
        f"{' (süresi geçti)' if r.overdue else ''}</td><td>{e(r.answer or '')}</td></tr>" for r in v.routings)
    history = "".join(
        f"<tr><td>{i}</td><td>{e(ev.status.value)}</td><td>{e(ev.action.value)}</td><td>{e(ev.note or '')}</td>"
        f"<td>{e(ev.actor_label)}</td><td>{local_time(ev.at)}</td></tr>" for i, ev in enumerate(v.history, start=1))
    files = "".join(f"<li>{e(f.file_name)}</li>" for f in v.files) or "<li>Dosya yok</li>"
    answer = f"<h2>Vatandaşa Verilen Cevap</h2><p>{e(v.answer)}</p>" if v.answer else ""
    return f"""<!doctype html>
<html lang="tr"><head><meta charset="utf-8"><title>Başvuru Raporu {v.tracking_no}</title>
<style>{STYLE}</style>
</head><body>
<p class="no-print">Raporu yazdırmak için tarayıcınızın Yazdır komutunu (Ctrl+P) kullanabilirsiniz.</p>
<h1>Başvuru Raporu</h1>
<h2>Başvuru Özeti</h2>
<p><b>BAŞVURU NO:</b> {v.tracking_no} &nbsp; <b>Başvuru Durumu:</b> {e(status)} &nbsp; <b>Tür:</b> {e(v.kind.value)}</p>
<p><b>T.C. Kimlik No:</b> {e(v.tckn) if personal else hidden} &nbsp; <b>Adı Soyadı:</b> {name}</p>
<p><b>İkametgah Açık Adresi:</b> {e(v.residence_line) if personal else hidden}</p>
<h2>Başvuruya Konu Olan</h2>
<p><b>Açık Adres:</b> {e(v.subject_address)} {e(v.district.name)} / {e(v.province.name)}</p>
<p><b>İl:</b> {e(v.province.name)} &nbsp; <b>İlçe:</b> {e(v.district.name)} &nbsp;
<b>{e(v.place.kind.value)}:</b> {e(v.place.name)}</p>
<h2>Başvuru Konusu</h2><p>{e(v.subject)}</p>
<h2>Hizmet Başlıkları</h2>
<table><tr><th>Sıra</th><th>Hizmet Başlığı</th><th>Hizmet Alt Başlığı</th><th>Hizmet Açıklaması</th></tr>{rows}</table>
<h2>Yüklenen Dosyalar</h2><ul>{files}</ul>
<h2>Yönlendirilen Birimler</h2>
<table><tr><th>Birim</th><th>Durum</th><th>Son Cevap Verme Tarihi</th><th>Cevap</th></tr>{routings}</table>
{answer}
<h2>İşlem Hareketleri</h2>
<table><tr><th>Sıra</th><th>Durum</th><th>İşlem</th><th>Açıklama</th><th>İşlemi Yapan</th><th>İşlem Tarihi</th></tr>
{history}</table>
</body></html>"""
