"""The ministry's admin manages Hizmet Başlığı and Alt Başlık: adds, renames, reorders, deactivates and
reactivates them. Citizens see each change in `serviceCategories` once the reference cache checks (here at
every request); a deactivated one stays on old applications and cannot be chosen for new ones. Every refusal
changes nothing; every change is in the audit log; no one else may do any of it."""

import asyncio
import json

import pytest

from tests.documents import REGISTER, STAFF_APPLICATION, UPDATE_CATEGORIES
from tests.helpers import (
    AKS_ANKARA, AYSE, MIA_ANKARA, YETKILI_ANKARA, istanbul_today, sign_in_to_apply, staff_session, submit,
)

SETTINGS = {"reference_check_seconds": 0, "staff_identity_lookups_per_hour": 10_000}

NATIONAL_ADMIN = "10000001372"  # the ministry's Yetki İşlemleri
ANKARA_ADMIN, ISTANBUL_ADMIN, ANALIST = "10000000450", "10000001440", "10000000528"

RECORD = "id parentId name position active choosable"
ADMIN_TREE = f"{{ adminServiceCategories {{ {RECORD} subcategories {{ {RECORD} }} }} }}"
PUBLIC_TREE = "{ serviceCategories { id name subcategories { id name } } }"
SAVED = f"""__typename
    ... on ServiceCategorySaved {{ category {{ {RECORD} subcategories {{ {RECORD} }} }} }}
    ... on Error {{ code message field }}"""
ADD = f"""mutation($name: String!, $parentId: Int) {{
  addServiceCategory(name: $name, parentId: $parentId) {{ {SAVED} }} }}"""
RENAME = f"""mutation($id: Int!, $name: String!) {{ renameServiceCategory(id: $id, name: $name) {{ {SAVED} }} }}"""
REORDER = f"""mutation($parentId: Int, $ids: [Int!]!) {{
  reorderServiceCategories(parentId: $parentId, ids: $ids) {{
    __typename
    ... on ServiceCategoriesReordered {{ categories {{ {RECORD} }} }}
    ... on Error {{ code message field }} }} }}"""
DEACTIVATE = f"""mutation($id: Int!) {{ deactivateServiceCategory(id: $id) {{ {SAVED} }} }}"""
REACTIVATE = f"""mutation($id: Int!) {{ reactivateServiceCategory(id: $id) {{ {SAVED} }} }}"""


@pytest.fixture(scope="module")
async def admin(world) -> str:
    return await staff_session(world, NATIONAL_ADMIN)


async def mutate(world, token: str | None, document: str, **variables) -> dict:
    data = await world.gql(document, variables, token=token)
    return next(iter(data.values()))


async def saved(world, admin: str, document: str, **variables) -> dict:
    payload = await mutate(world, admin, document, **variables)
    assert payload["__typename"] == "ServiceCategorySaved", payload
    return payload["category"]


async def refused(world, token: str | None, document: str, code: str, **variables) -> dict:
    """The payload of a refused step, having checked that it changed nothing."""
    before = await state(world)
    payload = await mutate(world, token, document, **variables)
    assert payload.get("code") == code, payload
    assert payload["message"]
    assert await state(world) == before
    return payload


async def state(world) -> tuple:
    """Everything a step could change: the categories, the audit log, the reference data's version."""
    categories = await world.sql("SELECT id, parent_id, name, position, active FROM service_category ORDER BY id")
    audit = await world.sql("SELECT count(*) FROM audit_event")
    version = await world.sql("SELECT version FROM reference_version")
    return [tuple(row) for row in categories], audit[0][0], version[0][0]


async def public_tree(world) -> list[dict]:
    return (await world.gql(PUBLIC_TREE))["serviceCategories"]


async def admin_tree(world, admin: str) -> list[dict]:
    return (await world.gql(ADMIN_TREE, token=admin))["adminServiceCategories"]


def public_entry(tree: list[dict], category_id: int) -> dict | None:
    return next((entry for entry in tree if entry["id"] == category_id), None)


async def audit_rows(world, category_id: int) -> list[tuple]:
    rows = await world.sql(
        "SELECT e.action, e.before, e.after, e.province_id, e.entity, u.tckn, e.actor_label FROM audit_event e "
        "JOIN app_user u ON u.id = e.actor_id WHERE e.entity_id = $1 ORDER BY e.id", str(category_id))
    return [(row["action"], row["before"] and json.loads(row["before"]), row["after"] and json.loads(row["after"]),
             row["province_id"], row["entity"], row["tckn"], row["actor_label"]) for row in rows]


async def category_with_subcategories(world, admin: str, name: str, *subcategories: str) -> tuple[int, list[int]]:
    category = await saved(world, admin, ADD, name=name)
    return category["id"], [(await saved(world, admin, ADD, name=sub, parentId=category["id"]))["id"]
                            for sub in subcategories]


async def register(world, category: int, subcategory: int, phone: str, token: str | None = None) -> int | dict:
    """An AKS registers an application filed under (category, subcategory): its tracking number, or the payload
    of a refusal."""
    token = token or await staff_session(world, AKS_ANKARA["tckn"])
    data = {"tcKimlikNo": AYSE["tckn"], "arrivalDate": istanbul_today().isoformat(),
            "application": {"sameAsResidence": True, "phone": phone, "subject": "Konu.",
                            "categories": [{"categoryId": category, "subcategoryId": subcategory}]}}
    payload = (await world.gql(REGISTER, {"input": data}, token=token))["registerApplication"]
    return payload.get("trackingNo", payload)


async def applications(world) -> int:
    return (await world.sql("SELECT count(*) FROM application"))[0][0]


class TestAddCategory:
    async def test_a_new_baslik_comes_last_and_citizens_see_it_at_once(self, world, admin):
        before = await admin_tree(world, admin)
        category = await saved(world, admin, ADD, name="  ADALET VE TAPU  ")

        assert category == {"id": category["id"], "parentId": None, "name": "ADALET VE TAPU",
                            "position": max(c["position"] for c in before) + 1, "active": True, "choosable": True,
                            "subcategories": []}
        assert (await public_tree(world))[-1] == {"id": category["id"], "name": "ADALET VE TAPU",
                                                   "subcategories": []}

    async def test_an_alt_baslik_goes_last_under_its_baslik(self, world, admin):
        parent, (first,) = await category_with_subcategories(world, admin, "AİLE HİZMETLERİ", "Sosyal yardımlar")
        second = await saved(world, admin, ADD, name="Huzurevi başvuruları", parentId=parent)

        assert (second["parentId"], second["position"], second["choosable"]) == (parent, 2, True)
        assert public_entry(await public_tree(world), parent)["subcategories"] == [
            {"id": first, "name": "Sosyal yardımlar"}, {"id": second["id"], "name": "Huzurevi başvuruları"}]

    async def test_the_same_name_may_be_under_two_basliks(self, world, admin):
        first, _ = await category_with_subcategories(world, admin, "GENÇLİK", "Diğer")
        second, _ = await category_with_subcategories(world, admin, "SPOR", "Diğer")

        assert [s["name"] for s in public_entry(await public_tree(world), second)["subcategories"]] == ["Diğer"]
        assert first != second

    async def test_the_addition_is_in_the_audit_log(self, world, admin):
        category = await saved(world, admin, ADD, name="TURİZM")

        assert await audit_rows(world, category["id"]) == [
            ("CREATED", None, {"name": "TURİZM", "parent_id": None, "position": category["position"], "active": True},
             None, "SERVICE_CATEGORY", NATIONAL_ADMIN, "Zeynep Aydın (Yetki İşlemleri)")]


class TestRenameCategory:
    async def test_citizens_and_old_applications_see_the_new_name(self, world, admin):
        category, (sub,) = await category_with_subcategories(world, admin, "KÜLTÜR", "Müze ziyaretleri")
        tracking_no = await register(world, category, sub, "5351600001")

        renamed = await saved(world, admin, RENAME, id=sub, name="Müze ve ören yeri ziyaretleri")

        assert renamed["name"] == "Müze ve ören yeri ziyaretleri"
        assert public_entry(await public_tree(world), category)["subcategories"] == [
            {"id": sub, "name": "Müze ve ören yeri ziyaretleri"}]
        view = await world.gql(STAFF_APPLICATION, {"trackingNo": tracking_no},
                               token=await staff_session(world, AKS_ANKARA["tckn"]))
        assert view["staffApplication"]["categories"][0]["subcategory"] == "Müze ve ören yeri ziyaretleri"
        assert await audit_rows(world, sub) == [
            ("CREATED", None, {"name": "Müze ziyaretleri", "parent_id": category, "position": 1, "active": True},
             None, "SERVICE_CATEGORY", NATIONAL_ADMIN, "Zeynep Aydın (Yetki İşlemleri)"),
            ("UPDATED", {"name": "Müze ziyaretleri"}, {"name": "Müze ve ören yeri ziyaretleri"},
             None, "SERVICE_CATEGORY", NATIONAL_ADMIN, "Zeynep Aydın (Yetki İşlemleri)")]

    async def test_a_category_may_change_the_capitalisation_of_its_own_name(self, world, admin):
        category = await saved(world, admin, ADD, name="Orman")

        assert (await saved(world, admin, RENAME, id=category["id"], name="ORMAN"))["name"] == "ORMAN"

    async def test_the_same_name_again_changes_and_records_nothing(self, world, admin):
        category = await saved(world, admin, ADD, name="DENİZCİLİK")
        before = await state(world)

        assert (await saved(world, admin, RENAME, id=category["id"], name=" DENİZCİLİK "))["name"] == "DENİZCİLİK"
        assert await state(world) == before


class TestReorderCategories:
    async def test_the_alt_basliklar_take_the_new_order_for_citizens_too(self, world, admin):
        category, subs = await category_with_subcategories(world, admin, "ENERJİ X", "Elektrik", "Doğalgaz", "Su")
        payload = await mutate(world, admin, REORDER, parentId=category, ids=[subs[2], subs[0], subs[1]])

        assert payload["__typename"] == "ServiceCategoriesReordered", payload
        assert [(c["id"], c["position"]) for c in payload["categories"]] == [(subs[2], 1), (subs[0], 2), (subs[1], 3)]
        assert [s["name"] for s in public_entry(await public_tree(world), category)["subcategories"]] == [
            "Su", "Elektrik", "Doğalgaz"]
        moved = [row[:3] for row in await audit_rows(world, subs[0]) + await audit_rows(world, subs[1])
                 + await audit_rows(world, subs[2]) if row[0] == "UPDATED"]
        assert moved == [("UPDATED", {"position": 1}, {"position": 2}), ("UPDATED", {"position": 2}, {"position": 3}),
                         ("UPDATED", {"position": 3}, {"position": 1})]

    async def test_the_basliks_are_reordered_with_the_inactive_ones(self, world, admin):
        hidden = await saved(world, admin, ADD, name="GİZLİ BAŞLIK")
        await saved(world, admin, DEACTIVATE, id=hidden["id"])
        ids = [c["id"] for c in await admin_tree(world, admin)]
        new_order = [ids[1], ids[0], *ids[2:]]
        payload = await mutate(world, admin, REORDER, ids=new_order)

        assert [c["id"] for c in payload["categories"]] == new_order
        assert [c["position"] for c in payload["categories"]] == list(range(1, len(ids) + 1))
        assert [c["id"] for c in await public_tree(world)] == [i for i in new_order if i != hidden["id"]]

    async def test_the_same_order_again_records_nothing(self, world, admin):
        ids = [c["id"] for c in await admin_tree(world, admin)]
        await mutate(world, admin, REORDER, ids=ids)  # positions 1..n, whatever they were
        before = await state(world)

        assert (await mutate(world, admin, REORDER, ids=ids))["__typename"] == "ServiceCategoriesReordered"
        assert await state(world) == before


class TestDeactivateAndReactivate:
    async def test_a_deactivated_alt_baslik_leaves_the_public_tree_and_comes_back_in_its_place(self, world, admin):
        category, subs = await category_with_subcategories(world, admin, "TARIM", "Hayvancılık", "Sulama")
        off = await saved(world, admin, DEACTIVATE, id=subs[0])

        assert (off["active"], off["choosable"]) == (False, False)
        assert public_entry(await public_tree(world), category)["subcategories"] == [{"id": subs[1], "name": "Sulama"}]
        admin_entry = public_entry(await admin_tree(world, admin), category)
        assert [(s["name"], s["active"]) for s in admin_entry["subcategories"]] == [("Hayvancılık", False),
                                                                                   ("Sulama", True)]

        on = await saved(world, admin, REACTIVATE, id=subs[0])
        assert (on["active"], on["choosable"], on["position"]) == (True, True, 1)
        assert [s["id"] for s in public_entry(await public_tree(world), category)["subcategories"]] == subs
        assert [row[:3] for row in await audit_rows(world, subs[0])][1:] == [
            ("DEACTIVATED", {"active": True}, {"active": False}), ("REACTIVATED", {"active": False}, {"active": True})]

    async def test_a_deactivated_baslik_takes_its_alt_basliks_out_of_use_and_back(self, world, admin):
        category, subs = await category_with_subcategories(world, admin, "ULAŞTIRMA", "Karayolu", "Demiryolu")
        await saved(world, admin, DEACTIVATE, id=subs[1])
        off = await saved(world, admin, DEACTIVATE, id=category)

        assert public_entry(await public_tree(world), category) is None
        # The alt başlıklar keep their own flags; none of them can be chosen while the başlık is inactive.
        assert [(s["active"], s["choosable"]) for s in off["subcategories"]] == [(True, False), (False, False)]

        on = await saved(world, admin, REACTIVATE, id=category)
        assert [(s["active"], s["choosable"]) for s in on["subcategories"]] == [(True, True), (False, False)]
        assert public_entry(await public_tree(world), category)["subcategories"] == [
            {"id": subs[0], "name": "Karayolu"}]

    async def test_an_alt_baslik_reactivated_under_an_inactive_baslik_stays_unchoosable(self, world, admin):
        category, (sub,) = await category_with_subcategories(world, admin, "BASIN", "Basın kartı")
        await saved(world, admin, DEACTIVATE, id=sub)
        await saved(world, admin, DEACTIVATE, id=category)

        on = await saved(world, admin, REACTIVATE, id=sub)
        assert (on["active"], on["choosable"]) == (True, False)


@pytest.fixture(scope="module")
async def filed(world, admin) -> dict:
    """An application filed under (SOSYAL GÜVENLİK X, Emeklilik); then Emeklilik is deactivated (its sibling
    Kayıt dışı istihdam is not), and so is the başlık ÇEVRE X with its one alt başlık left active."""
    category, subs = await category_with_subcategories(world, admin, "SOSYAL GÜVENLİK X", "Emeklilik",
                                                       "Kayıt dışı istihdam")
    other, (other_sub,) = await category_with_subcategories(world, admin, "ÇEVRE X", "Atık")
    tracking_no = await register(world, category, subs[0], "5351600002")
    await saved(world, admin, DEACTIVATE, id=subs[0])
    await saved(world, admin, DEACTIVATE, id=other)
    return {"tracking_no": tracking_no, "category": category, "inactive_sub": subs[0], "active_sub": subs[1],
            "inactive_category": other, "sub_of_inactive": other_sub}


class TestDeactivatedOnApplications:
    async def test_the_old_application_still_shows_it(self, world, filed):
        view = await world.gql(STAFF_APPLICATION, {"trackingNo": filed["tracking_no"]},
                               token=await staff_session(world, AKS_ANKARA["tckn"]))
        assert [(c["category"], c["subcategory"]) for c in view["staffApplication"]["categories"]] == [
            ("SOSYAL GÜVENLİK X", "Emeklilik")]

    @pytest.mark.parametrize("pair", ["inactive subcategory", "subcategory of an inactive category"])
    async def test_a_citizen_cannot_submit_under_it(self, world, filed, pair):
        category, sub = ((filed["category"], filed["inactive_sub"]) if pair == "inactive subcategory"
                         else (filed["inactive_category"], filed["sub_of_inactive"]))
        phone = "5351600003" if pair == "inactive subcategory" else "5351600004"
        token = await sign_in_to_apply(world, AYSE, phone)
        before = await applications(world)

        payload = await submit(world, token, phone, categories=[{"categoryId": category, "subcategoryId": sub}])
        assert (payload["code"], payload["field"]) == ("VALIDATION_FAILED", "categories"), payload
        assert "kullanımda değil" in payload["message"]
        assert await applications(world) == before
        # the active alt başlık of the same başlık still goes through
        ok = await submit(world, token, phone, categories=[{"categoryId": filed["category"],
                                                            "subcategoryId": filed["active_sub"]}])
        assert ok["__typename"] == "SubmitApplicationSuccess", ok

    async def test_an_aks_cannot_register_under_it(self, world, filed):
        before = await applications(world)

        payload = await register(world, filed["inactive_category"], filed["sub_of_inactive"], "5351600005")
        assert (payload["code"], payload["field"]) == ("VALIDATION_FAILED", "categories"), payload
        assert await applications(world) == before

    @pytest.mark.parametrize("pair", ["inactive subcategory", "subcategory of an inactive category"])
    async def test_an_aks_cannot_update_an_application_to_it(self, world, filed, pair):
        aks = await staff_session(world, AKS_ANKARA["tckn"])
        tracking_no = await register(world, filed["category"], filed["active_sub"], "5351600006", aks)
        category, sub = ((filed["category"], filed["inactive_sub"]) if pair == "inactive subcategory"
                         else (filed["inactive_category"], filed["sub_of_inactive"]))
        before = await world.sql("SELECT category_id, subcategory_id FROM application_category a "
                                 "JOIN application p ON p.id = a.application_id WHERE p.tracking_no = $1", tracking_no)

        payload = await mutate(world, aks, UPDATE_CATEGORIES, input={
            "trackingNo": tracking_no, "categories": [{"categoryId": category, "subcategoryId": sub}]})
        assert (payload["code"], payload["field"]) == ("VALIDATION_FAILED", "categories"), payload
        after = await world.sql("SELECT category_id, subcategory_id FROM application_category a "
                                "JOIN application p ON p.id = a.application_id WHERE p.tracking_no = $1", tracking_no)
        assert [tuple(r) for r in after] == [tuple(r) for r in before] == [(filed["category"], filed["active_sub"])]


BAD_NAMES = {"empty": "", "blank": "   ", "too long": "Ş" * 257, "NUL": "Eğitim\x00", "line break": "Eğitim\nSağlık",
             "tab": "Eğitim\tSağlık", "escape": "\x1b[31mEğitim"}


class TestRefusals:
    @pytest.mark.parametrize("name", BAD_NAMES.values(), ids=BAD_NAMES.keys())
    async def test_a_bad_name_is_refused_when_adding_and_renaming(self, world, admin, name):
        tree = await admin_tree(world, admin)
        for document, variables in ((ADD, {"name": name}), (ADD, {"name": name, "parentId": tree[0]["id"]}),
                                    (RENAME, {"id": tree[0]["id"], "name": name})):
            payload = await refused(world, admin, document, "VALIDATION_FAILED", **variables)
            assert payload["field"] == "name"

    async def test_256_characters_are_enough(self, world, admin):
        assert len((await saved(world, admin, ADD, name="Ş" * 256))["name"]) == 256

    @pytest.mark.parametrize("spelling", ["EĞİTİM", "Eğitim", "eğitim", " eĞİtİm "])
    async def test_a_name_taken_by_a_sibling_in_any_turkish_capitalisation_is_refused(self, world, admin, spelling):
        tree = await admin_tree(world, admin)
        egitim = next(c for c in tree if c["name"] == "EĞİTİM")
        saglik = next(c for c in tree if c["name"] == "SAĞLIK")
        payload = await refused(world, admin, ADD, "SERVICE_CATEGORY_NAME_TAKEN", name=spelling)
        assert payload["field"] == "name"
        await refused(world, admin, RENAME, "SERVICE_CATEGORY_NAME_TAKEN", id=saglik["id"], name=spelling)
        assert egitim["subcategories"][1]["name"] == "Engelli öğrencilerin eğitim hizmetlerine katılma sorunları"
        await refused(world, admin, ADD, "SERVICE_CATEGORY_NAME_TAKEN", parentId=egitim["id"],
                      name="ENGELLİ ÖĞRENCİLERİN EĞİTİM HİZMETLERİNE KATILMA SORUNLARI")

    async def test_dotless_and_dotted_i_are_different_letters(self, world, admin):
        await saved(world, admin, ADD, name="Sınır Kapıları")

        assert (await saved(world, admin, ADD, name="SİNİR KAPİLARİ"))["name"] == "SİNİR KAPİLARİ"
        await refused(world, admin, ADD, "SERVICE_CATEGORY_NAME_TAKEN", name="SINIR KAPILARI")

    async def test_an_unknown_id_is_not_found(self, world, admin):
        for document, variables in ((ADD, {"name": "Yeni", "parentId": 999_999}),
                                    (RENAME, {"id": 999_999, "name": "Yeni"}), (DEACTIVATE, {"id": 999_999}),
                                    (REACTIVATE, {"id": -1}), (REORDER, {"parentId": 2**31 - 1, "ids": []})):
            await refused(world, admin, document, "NOT_FOUND", **variables)

    async def test_no_alt_baslik_under_an_alt_baslik(self, world, admin):
        category, (sub,) = await category_with_subcategories(world, admin, "BİLİM", "Araştırma")

        payload = await refused(world, admin, ADD, "SERVICE_CATEGORY_TOO_DEEP", name="Destekler", parentId=sub)
        assert payload["field"] == "parentId"
        await refused(world, admin, REORDER, "SERVICE_CATEGORY_TOO_DEEP", parentId=sub, ids=[])

    async def test_no_alt_baslik_under_an_inactive_baslik(self, world, admin):
        category = await saved(world, admin, ADD, name="ESKİ BAŞLIK")
        await saved(world, admin, DEACTIVATE, id=category["id"])

        await refused(world, admin, ADD, "SERVICE_CATEGORY_PARENT_INACTIVE", name="Yeni", parentId=category["id"])

    async def test_a_reorder_names_every_sibling_once_and_nothing_else(self, world, admin):
        category, subs = await category_with_subcategories(world, admin, "MADEN", "Ruhsat", "Denetim", "Tazminat")
        hidden = await saved(world, admin, ADD, name="Kapanan", parentId=category)
        await saved(world, admin, DEACTIVATE, id=hidden["id"])
        foreign = (await admin_tree(world, admin))[0]["subcategories"][0]["id"]
        everyone = [*subs, hidden["id"]]
        for ids in ([subs[2], subs[1], subs[0]],  # the inactive one is missing
                    [*everyone, foreign],  # another başlık's alt başlık
                    [*everyone[:3], foreign],  # … instead of one of its own
                    [*everyone, subs[0]],  # one twice
                    [subs[0], subs[0], subs[1], hidden["id"]],
                    [*everyone, 999_999], [], [category]):
            payload = await refused(world, admin, REORDER, "SERVICE_CATEGORY_ORDER_MISMATCH", parentId=category,
                                    ids=ids)
            assert payload["field"] == "ids"
        top = [c["id"] for c in await admin_tree(world, admin)]
        await refused(world, admin, REORDER, "SERVICE_CATEGORY_ORDER_MISMATCH", ids=top[1:])
        await refused(world, admin, REORDER, "SERVICE_CATEGORY_ORDER_MISMATCH", ids=[*top, subs[0]])

    async def test_deactivating_twice_or_reactivating_an_active_one_is_refused(self, world, admin):
        category = await saved(world, admin, ADD, name="İKİ KEZ")

        await refused(world, admin, REACTIVATE, "SERVICE_CATEGORY_STATE_UNCHANGED", id=category["id"])
        await saved(world, admin, DEACTIVATE, id=category["id"])
        await refused(world, admin, DEACTIVATE, "SERVICE_CATEGORY_STATE_UNCHANGED", id=category["id"])


class TestTwoAdminsAtOnce:
    async def test_two_spellings_of_one_name_added_at_once_make_one_category(self, world, admin):
        other = await staff_session(world, NATIONAL_ADMIN)
        for _ in range(5):
            suffix = len(await admin_tree(world, admin))
            payloads = await asyncio.gather(mutate(world, admin, ADD, name=f"İKİZ {suffix}"),
                                            mutate(world, other, ADD, name=f"ikiz {suffix}"))

            assert sorted(p["__typename"] for p in payloads) == ["ServiceCategoryNameTaken", "ServiceCategorySaved"]

    async def test_two_reorders_at_once_leave_one_of_the_two_orders(self, world, admin):
        other = await staff_session(world, NATIONAL_ADMIN)
        category, subs = await category_with_subcategories(world, admin, "SIRA", "a", "b", "c", "d", "e")
        for _ in range(5):
            orders = [subs[::-1], [*subs[1::2], *subs[::2]]]
            payloads = await asyncio.gather(*(mutate(world, token, REORDER, parentId=category, ids=ids)
                                              for token, ids in zip((admin, other), orders)))

            assert [p["__typename"] for p in payloads] == ["ServiceCategoriesReordered"] * 2
            stored = [s["id"] for s in public_entry(await admin_tree(world, admin), category)["subcategories"]]
            assert stored in orders
            positions = await world.sql("SELECT position FROM service_category WHERE parent_id = $1 "
                                        "ORDER BY position", category)
            assert [row[0] for row in positions] == [1, 2, 3, 4, 5]


CALLERS = {"AKS": AKS_ANKARA["tckn"], "Yetkili": YETKILI_ANKARA["tckn"], "MİA": MIA_ANKARA["tckn"],
           "analyst": ANALIST, "Ankara admin": ANKARA_ADMIN, "İstanbul admin": ISTANBUL_ADMIN,
           "citizen": "citizen", "anonymous": None}


@pytest.fixture(scope="module")
async def target(world, admin) -> tuple[int, int]:
    category, (sub,) = await category_with_subcategories(world, admin, "YETKİ DENEMESİ", "Alt")
    await saved(world, admin, DEACTIVATE, id=sub)
    return category, sub


@pytest.fixture(scope="module")
async def citizen(world) -> str:
    return await sign_in_to_apply(world, AYSE, "5351600009")


class TestOnlyTheMinistrysAdmin:
    @pytest.mark.parametrize("caller", CALLERS)
    async def test_no_one_else_reaches_any_step(self, world, target, citizen, caller):
        tckn = CALLERS[caller]
        token = citizen if tckn == "citizen" else tckn and await staff_session(world, tckn)
        code = "UNAUTHENTICATED" if token is None else "PERMISSION_DENIED"
        category, sub = target
        for document, variables in ((ADD, {"name": "Başka"}), (ADD, {"name": "Başka", "parentId": category}),
                                    (RENAME, {"id": category, "name": "Başka"}),
                                    (REORDER, {"parentId": None, "ids": []}), (DEACTIVATE, {"id": category}),
                                    (REACTIVATE, {"id": sub})):
            await refused(world, token, document, code, **variables)
        body = await world.gql_raw(ADMIN_TREE, token=token)
        assert body["data"] is None and body["errors"][0]["extensions"]["code"] == code, body
