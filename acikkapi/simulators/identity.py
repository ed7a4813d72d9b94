"""A local stand-in for the identity and address sharing service: a real HTTP server holding fictitious people.

POST /kimlik/dogrula {tckn, ad, soyad, anne_kizlik_soyadi_harfleri} → {eslesme, kisi?}
POST /kimlik/sorgula {tckn}                                         → {bulundu, kisi?}
POST /_kontrol {down: bool, delay: float, refuse: bool} lets tests simulate an outage, a slow answer, or a
service that refuses our requests (HTTP 400).
"""

import asyncio

from aiohttp import web

from acikkapi.services.tckn import turkish_upper

# All numbers pass the checksum; none belongs to a real person.
PEOPLE = [
    {"tckn": "10000000146", "ad": "AYŞE", "soyad": "YILMAZ", "anne": "KAYA", "dogum_tarihi": "1985-04-12",
     "cinsiyet": "KADIN", "il_kodu": 6, "il": "Ankara", "ilce": "Keçiören", "mahalle": "Kalaba Mah",
     "acik_adres": "Şehit Kubilay Sok. No: 12 Daire: 3"},
    {"tckn": "12345678950", "ad": "MEHMET ALİ", "soyad": "DEMİR", "anne": "ÖZTÜRK", "dogum_tarihi": "1958-09-30",
     "cinsiyet": "ERKEK", "il_kodu": 6, "il": "Ankara", "ilce": "Çankaya", "mahalle": "Kızılay Mah",
     "acik_adres": "Atatürk Bulvarı No: 101/7"},
    {"tckn": "23456789060", "ad": "ZEYNEP", "soyad": "ŞAHİN", "anne": "ÇELİK", "dogum_tarihi": "1999-01-23",
     "cinsiyet": "KADIN", "il_kodu": 34, "il": "İstanbul", "ilce": "Kadıköy", "mahalle": "Caferağa Mah",
     "acik_adres": "Moda Cad. No: 45 Daire: 8"},
    {"tckn": "34567890170", "ad": "İSMAİL", "soyad": "KOÇ", "anne": "ARSLAN", "dogum_tarihi": "1972-06-05",
     "cinsiyet": "ERKEK", "il_kodu": 35, "il": "İzmir", "ilce": "Bornova", "mahalle": "Kazımdirik Mah",
     "acik_adres": "372. Sok. No: 9"},
    {"tckn": "45678901280", "ad": "FATMA", "soyad": "AYDIN", "anne": "KURT", "dogum_tarihi": "1990-11-17",
     "cinsiyet": "KADIN", "il_kodu": 42, "il": "Konya", "ilce": "Selçuklu", "mahalle": "Bosna Hersek Mah",
     "acik_adres": "Gürz Sok. No: 4"},
    {"tckn": "56789012390", "ad": "HASAN", "soyad": "ÖZDEMİR", "anne": "DOĞAN", "dogum_tarihi": "1949-03-02",
     "cinsiyet": "ERKEK", "il_kodu": 25, "il": "Erzurum", "ilce": "Yakutiye", "mahalle": "Lalapaşa Mah",
     "acik_adres": "Cumhuriyet Cad. No: 30"},
    {"tckn": "99123456740", "ad": "ANNA", "soyad": "PETROVA", "anne": "IVANOVA", "dogum_tarihi": "1988-08-08",
     "cinsiyet": "KADIN", "il_kodu": 6, "il": "Ankara", "ilce": "Yenimahalle", "mahalle": "Batı Sitesi Mah",
     "acik_adres": "Kardelen Cad. No: 2"},
]


def _same(a: str, b: str) -> bool:
    return " ".join(turkish_upper(a).split()) == " ".join(turkish_upper(b).split())


def _kisi(person: dict) -> dict:
    return {
        "tckn": person["tckn"], "ad": person["ad"], "soyad": person["soyad"],
        "dogum_tarihi": person["dogum_tarihi"], "cinsiyet": person["cinsiyet"],
        "ikamet_adresi": {key: person[key] for key in ("il_kodu", "il", "ilce", "mahalle", "acik_adres")},
    }


def create_identity_app(people: list[dict] = PEOPLE) -> web.Application:
    by_tckn = {person["tckn"]: person for person in people}
    state = {"down": False, "delay": 0.0, "refuse": False}

    @web.middleware
    async def outage(request: web.Request, handler):
        if request.path.startswith("/kimlik/"):
            if state["delay"]:
                await asyncio.sleep(state["delay"])
            if state["down"]:
                return web.json_response({"hata": "servis bakımda"}, status=503)
            if state["refuse"]:
                return web.json_response({"hata": "geçersiz istek"}, status=400)
        return await handler(request)

    async def verify(request: web.Request) -> web.Response:
        body = await request.json()
        person = by_tckn.get(str(body.get("tckn")))
        initials = turkish_upper(str(body.get("anne_kizlik_soyadi_harfleri", "")).replace(" ", ""))
        match = (
            person is not None
            and _same(body.get("ad", ""), person["ad"])
            and _same(body.get("soyad", ""), person["soyad"])
            and initials == turkish_upper(person["anne"][0] + person["anne"][-1])
        )
        return web.json_response({"eslesme": True, "kisi": _kisi(person)} if match else {"eslesme": False})

    async def lookup(request: web.Request) -> web.Response:
        person = by_tckn.get(str((await request.json()).get("tckn")))
        return web.json_response({"bulundu": True, "kisi": _kisi(person)} if person else {"bulundu": False})

    async def control(request: web.Request) -> web.Response:
        state.update(await request.json())
        return web.json_response(state)

    app = web.Application(middlewares=[outage])
    app.router.add_post("/kimlik/dogrula", verify)
    app.router.add_post("/kimlik/sorgula", lookup)
    app.router.add_post("/_kontrol", control)
    return app
