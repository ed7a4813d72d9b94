-- A realistic volume for the benchmark (scripts/bench.py), on a migrated and seeded database.
--
-- current_setting('bench.applications') applications over the last two years, as a live system holds them: their
-- subject and residence addresses drawn from the real address records (so provinces with more neighbourhoods get
-- more), 1-3 category rows each, an attachment row on about one in five, the tracking-number SMS each one sent,
-- the ended sessions their applicants and trackers left behind, and each one's life in the office so far: its
-- routings to units and its history (İşlem Hareketleri), consistent with its status.
--
-- Each application's life is drawn once, as durations from its registration: days in the pool (a few stay for
-- weeks); then 1-3 routings to units, or none (one in fourteen, and every gizli one); each unit's answer days
-- after routing (about one in six after the due date, a few months late); one answer in seventeen returned by
-- the AKS and answered again; days before the AKS acts on the answers (a few are left for months); then the MİA
-- (every özellikli and gizli one, one in fourteen of the others) and the close, with a result and the answer to
-- the citizen. What has happened by now is written, nothing later: 97% are closed (almost all older than a year,
-- nine in ten older than a month), the recent ones are in the pool, with the units (open routings, a third of
-- them overdue), back with the AKS or with the MİA. Flags: about 2% özellikli, 1% gizli, 5% a priority group.
--
-- Routings go to the units (DETSİS, not valilik) of the application's province, or to any unit where the unit
-- table has none for it; each is due on the 7th weekday after the day it was routed (Istanbul; holidays ignored).
-- History rows are those the server's workflow writes (services/workflow.py): actions, statuses, notes, actor
-- labels and roles, public or not, ANSWERED and ANSWER_RETURNED naming their routing; an application's and a
-- routing's version count their steps. The actors are the seeded staff where they exist; the fill adds a valilik
-- AKS and MİA to each province that has none (T.C. 7…) and a Yetkili to each routed unit that has none (T.C. 9…;
-- checksums valid), so that every actor belongs to the office or unit it acts for.
--
-- One transaction, deterministic (setseed) and set-based; the foreign keys of the filled tables are dropped and
-- added back (checked once, set-based). About 11 seconds for 100,000 applications, under 2 minutes for 1,000,000
-- (3.3 GB), on 2 cores.
--
--   psql -v ON_ERROR_STOP=1 -c "SET bench.applications = 100000" -f scripts/bench_fill.sql acikkapi
-- then VACUUM ANALYZE (outside a transaction).

BEGIN;
SELECT setseed(0.1612);
SET work_mem = '256MB';  -- the sorts and hashes below stay in memory
-- The temporary tables too (allowed only before a session's first one: where it is refused, they spill to files).
DO $$ BEGIN PERFORM set_config('temp_buffers', '1GB', false); EXCEPTION WHEN OTHERS THEN NULL; END $$;

-- The foreign keys of the tables filled are checked once, set-based, when they are added back at the end (in
-- this transaction): per row, their triggers took half of the fill's time. Definitions as the catalog has them.
CREATE TEMP TABLE fill_foreign_key AS
SELECT c.conrelid::regclass::text AS on_table, c.conname AS name, pg_get_constraintdef(c.oid) AS definition
FROM pg_constraint c
WHERE c.contype = 'f'
  AND c.conrelid = ANY (ARRAY['application', 'application_category', 'application_event', 'routing', 'attachment',
                              'outbox_message', 'auth_session']::regclass[]);
DO $$
DECLARE k record;
BEGIN
  FOR k IN SELECT * FROM fill_foreign_key ORDER BY on_table, name LOOP
    EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', k.on_table, k.name);
  END LOOP;
END $$;

CREATE TEMP TABLE fill_clock AS SELECT now() AS now;  -- one "now" for every statement, also under psql -f

CREATE TEMP TABLE fill_place AS
SELECT row_number() OVER (ORDER BY p.id)::int AS n, p.id AS place_id, p.district_id, d.province_id
FROM place p JOIN district d ON d.id = p.district_id;

CREATE TEMP TABLE fill_subcategory AS
SELECT row_number() OVER (ORDER BY s.id)::int AS n, s.parent_id AS category_id, s.id AS subcategory_id
FROM service_category s JOIN service_category c ON c.id = s.parent_id
WHERE s.active AND c.active;

-- Each list is a row of its own, small enough to stay uncompressed (read once per row that uses it).
CREATE TEMP TABLE fill_word (kind text, words text[]);
INSERT INTO fill_word VALUES
  ('first_male', ARRAY['MEHMET', 'MUSTAFA', 'AHMET', 'ALİ', 'HÜSEYİN', 'HASAN', 'İBRAHİM', 'İSMAİL', 'OSMAN',
                       'YUSUF', 'MURAT', 'ÖMER', 'RAMAZAN', 'HALİL', 'SÜLEYMAN', 'ABDULLAH', 'MAHMUT', 'EMRE',
                       'KEMAL', 'BURAK']),
  ('first_female', ARRAY['FATMA', 'AYŞE', 'EMİNE', 'HATİCE', 'ZEYNEP', 'ELİF', 'MERYEM', 'ŞERİFE', 'ZEHRA',
                         'SULTAN', 'HANİFE', 'MERVE', 'HAVVA', 'ZELİHA', 'ESRA', 'FADİME', 'ÖZLEM', 'KÜBRA',
                         'YASEMİN', 'GÜLSÜM']),
  ('last', ARRAY['YILMAZ', 'KAYA', 'DEMİR', 'ŞAHİN', 'ÇELİK', 'YILDIZ', 'YILDIRIM', 'ÖZTÜRK', 'AYDIN',
                 'ÖZDEMİR', 'ARSLAN', 'DOĞAN', 'KILIÇ', 'ASLAN', 'ÇETİN', 'KARA', 'KOÇ', 'KURT', 'ÖZKAN',
                 'ŞİMŞEK', 'POLAT', 'ÖZCAN', 'KORKMAZ', 'ÇAKIR', 'ERDOĞAN']),
  ('street', ARRAY['Atatürk Cad.', 'Cumhuriyet Cad.', 'İstiklal Sok.', 'Gazi Mustafa Kemal Bulvarı',
                   'Fatih Sok.', 'Menekşe Sok.', 'Lale Sok.', 'Barış Cad.', 'Okul Sok.', 'Çarşı Cad.',
                   'Hürriyet Cad.', 'Zafer Sok.', 'Gül Sok.', 'Bahçe Sok.', 'Yavuz Selim Cad.']),
  ('sentence', ARRAY[
    'Mahallemizdeki yolun bakımsız olması nedeniyle araçlar zarar görmektedir.',
    'Sokağımızda uzun süredir sokak lambaları yanmamaktadır.',
    'Çocuğumun okul kaydı ile ilgili yaşadığımız sorunun çözülmesini talep ediyorum.',
    'Bölgemizde sık sık su kesintisi yaşanmakta, önceden duyuru yapılmamaktadır.',
    'Aile sağlığı merkezinde randevu almakta güçlük çekiyoruz.',
    'Pazar yerinin çevresindeki trafik düzensizliği yaya güvenliğini tehlikeye atmaktadır.',
    'Başvurumun sonucu hakkında bilgi verilmesini rica ederim.',
    'İlgili kuruma yaptığım başvuruya bugüne kadar cevap verilmemiştir.',
    'Köyümüze giden yol kış aylarında ulaşıma kapanmaktadır.',
    'Sosyal yardım başvurumun değerlendirilmesini talep ediyorum.',
    'Apartmanımızın yanındaki boş arsa çöp ve moloz ile dolmuştur.',
    'Gereğinin yapılmasını saygılarımla arz ederim.']),
  ('unit_answer', ARRAY[
    'Başvuru konusu yerinde incelenmiş, gerekli çalışma programa alınmıştır. Bilgilerinize arz ederim.',
    'Konu ile ilgili ekiplerimizce yerinde tespit yapılmış ve sorun giderilmiştir. Bilgilerinize arz ederim.',
    'Başvuru sahibi ile irtibata geçilmiş, talebi hakkında bilgi verilmiştir. Bilgilerinize arz ederim.',
    'Talep mevzuat çerçevesinde değerlendirilmiş olup karşılanması mümkün görülmemiştir. Bilgilerinize arz ederim.',
    'Konu kurumumuzun görev alanında bulunmadığından ilgili belediyeye iletilmiştir. Bilgilerinize arz ederim.',
    'Gerekli denetim yapılmış, tespit edilen eksiklikler için işlem başlatılmıştır. Bilgilerinize arz ederim.',
    'Başvuruya konu hizmet önümüzdeki ay içinde tamamlanacaktır. Bilgilerinize arz ederim.',
    'Başvuru sahibinin dosyası incelenmiş, hak sahipliği koşulları sağlandığından ödeme planlanmıştır.']),
  ('return_reason', ARRAY[
    'Cevapta başvuru konusunun tamamına değinilmemiştir; eksik hususların da cevaplanması rica olunur.',
    'Yapılan işlemin tarihi ve sonucu belirtilmemiştir.',
    'Cevabın vatandaşa iletilebilecek açıklıkta yeniden düzenlenmesi rica olunur.']),
  ('mia_note', ARRAY['Uygundur.', 'Vatandaşa gerekli bilgilendirmenin yapılması uygun görülmüştür.',
                     'İlgili kurumlarla birlikte takip edilmesi uygundur.',
                     'Gereğinin ivedilikle yapılması hususunu rica ederim.']),
  ('closing_OLUMLU', ARRAY[
    'Başvurunuz ilgili birimlerce değerlendirilmiş, talebiniz doğrultusunda gerekli işlemler yapılmıştır.',
    'Başvurunuza konu sorun ilgili kurumca giderilmiştir. Bilgilerinize sunulur.',
    'Talebiniz uygun görülmüş ve yerine getirilmiştir.']),
  ('closing_OLUMSUZ', ARRAY[
    'Başvurunuz ilgili mevzuat çerçevesinde değerlendirilmiş, talebinizin karşılanması mümkün görülmemiştir.',
    'Başvurunuza konu husus belediyenin yetkisinde olup tarafınızca ilgili belediyeye başvurulması gerekmektedir.',
    'Yapılan incelemede iddia edilen hususa ilişkin bir tespit yapılamamıştır.']),
  ('closing_KISMEN', ARRAY[
    'Talebinizin bir bölümü karşılanmış, diğer hususlar ilgili kurumun iş programına alınmıştır.',
    'Başvurunuzdaki hususlardan yol bakımı yapılmış, aydınlatma talebi ise belediyeye iletilmiştir.'])
;

-- Staff who act in the histories: the seeded ones where they exist, bench users where a province's office has
-- no AKS or MİA or a unit has no Yetkili. T.C. numbers with a valid checksum, from 9 digits.
CREATE FUNCTION pg_temp.fill_tckn(base bigint) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT base::text || tenth.d10 || (sums.odd + sums.even + tenth.d10) % 10
  FROM (SELECT d[1] + d[3] + d[5] + d[7] + d[9] AS odd, d[2] + d[4] + d[6] + d[8] AS even
        FROM (SELECT string_to_array(base::text, NULL)::int[] AS d) digits) sums,
       LATERAL (SELECT ((sums.odd * 7 - sums.even) % 10 + 10) % 10 AS d10) tenth
$$;
-- A name as staff names are written: "KILIÇ" → "Kılıç" (initcap would give "Kiliç").
CREATE FUNCTION pg_temp.fill_name(word text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT left(word, 1) || translate(substr(word, 2), 'ABCÇDEFGĞHIİJKLMNOÖPRSŞTUÜVYZ', 'abcçdefgğhıijklmnoöprsştuüvyz')
$$;

INSERT INTO app_user (tckn, first_name, last_name, phone, role, province_id)
SELECT pg_temp.fill_tckn(700000000 + p.id * 10 + r.k),
       pg_temp.fill_name((CASE WHEN (p.id + r.k) % 2 = 0 THEN m.words ELSE f.words END)[1 + (p.id * 7 + r.k) % 20]),
       pg_temp.fill_name(l.words[1 + (p.id * 11 + r.k * 3) % 25]),
       '539' || lpad((p.id * 10 + r.k)::text, 7, '0'), r.role, p.id
FROM province p
CROSS JOIN (VALUES (1, 'AKS'), (2, 'MIA')) r(k, role),
     (SELECT words FROM fill_word WHERE kind = 'first_male') m,
     (SELECT words FROM fill_word WHERE kind = 'first_female') f,
     (SELECT words FROM fill_word WHERE kind = 'last') l
WHERE NOT EXISTS (SELECT FROM app_user u
                  WHERE u.role = r.role AND u.province_id = p.id AND u.district_id IS NULL AND u.active)
ORDER BY p.id, r.k
ON CONFLICT (tckn) WHERE active DO NOTHING;

WITH made AS (
  INSERT INTO app_user (tckn, first_name, last_name, phone, role, province_id)
  SELECT pg_temp.fill_tckn(900000000 + u.detsis_no % 100000000),
         pg_temp.fill_name((CASE WHEN u.detsis_no % 2 = 0 THEN m.words ELSE f.words END)[1 + u.detsis_no % 20]),
         pg_temp.fill_name(l.words[1 + u.detsis_no / 20 % 25]),
         '538' || lpad((u.detsis_no % 10000000)::text, 7, '0'), 'YETKILI', u.province_id
  FROM unit u,
       (SELECT words FROM fill_word WHERE kind = 'first_male') m,
       (SELECT words FROM fill_word WHERE kind = 'first_female') f,
       (SELECT words FROM fill_word WHERE kind = 'last') l
  WHERE u.active AND u.kind <> 'VALILIK'
    AND NOT EXISTS (SELECT FROM user_unit uu JOIN app_user y ON y.id = uu.user_id
                    WHERE uu.unit_no = u.detsis_no AND y.role = 'YETKILI' AND y.active)
  ORDER BY u.detsis_no
  ON CONFLICT (tckn) WHERE active DO NOTHING
  RETURNING id, tckn)
INSERT INTO user_unit (user_id, unit_no)
SELECT made.id, u.detsis_no FROM made JOIN unit u ON pg_temp.fill_tckn(900000000 + u.detsis_no % 100000000) = made.tckn
ON CONFLICT DO NOTHING;

-- Each province's office (its valilik's first AKS and MİA) and each unit that is routed to (its first Yetkili).
CREATE TEMP TABLE fill_office AS
SELECT p.id AS province_id, aks.id AS aks_id, aks.label AS aks_label, mia.id AS mia_id, mia.label AS mia_label
FROM province p
LEFT JOIN LATERAL (SELECT u.id, u.first_name || ' ' || u.last_name || ' (Açık Kapı Sorumlusu)' AS label
                   FROM app_user u
                   WHERE u.role = 'AKS' AND u.active AND u.province_id = p.id AND u.district_id IS NULL
                   ORDER BY u.id LIMIT 1) aks ON true
LEFT JOIN LATERAL (SELECT u.id, u.first_name || ' ' || u.last_name || ' (Mülki İdare Amiri)' AS label
                   FROM app_user u
                   WHERE u.role = 'MIA' AND u.active AND u.province_id = p.id AND u.district_id IS NULL
                   ORDER BY u.id LIMIT 1) mia ON true;
ALTER TABLE fill_office ADD PRIMARY KEY (province_id);

CREATE TEMP TABLE fill_unit AS
SELECT u.detsis_no, u.name, u.province_id, y.id AS yetkili_id, y.label AS yetkili_label
FROM unit u
LEFT JOIN LATERAL (SELECT a.id, a.first_name || ' ' || a.last_name || ' (Yetkili)' AS label
                   FROM user_unit uu JOIN app_user a ON a.id = uu.user_id
                   WHERE uu.unit_no = u.detsis_no AND a.role = 'YETKILI' AND a.active
                   ORDER BY a.id LIMIT 1) y ON true
WHERE u.active AND u.kind <> 'VALILIK';

-- The units an application of each province is routed to: the province's own, or any unit where it has none.
CREATE TEMP TABLE fill_pool AS
WITH every AS (SELECT coalesce(array_agg(detsis_no ORDER BY detsis_no), '{}') AS units FROM fill_unit),
     own AS (SELECT province_id, array_agg(detsis_no ORDER BY detsis_no) AS units
             FROM fill_unit WHERE province_id IS NOT NULL GROUP BY province_id)
SELECT p.id AS province_id, coalesce(own.units, every.units) AS units,
       cardinality(coalesce(own.units, every.units)) AS n
FROM province p CROSS JOIN every LEFT JOIN own ON own.province_id = p.id;
ANALYZE fill_clock, fill_place, fill_subcategory, fill_office, fill_unit, fill_pool;  -- for hash joins, not sorts

-- One row per application to create, with every random choice made once, and its life so far up to the
-- routing: registration, flags, the routing (or the decision without one) and how many units it went to.
CREATE TEMP TABLE fill_choice AS
WITH base AS (SELECT coalesce(max(id), 0) AS id FROM application),
     counts AS (SELECT (SELECT count(*) FROM fill_place)::int AS places,
                       current_setting('bench.applications')::int AS total),
     choice AS MATERIALIZED (
       SELECT g, random() AS r_gender, random() AS r_first, random() AS r_last, random() AS r_kind,
              random() AS r_channel, random() AS r_email, random() AS r_result, random() AS r_files,
              1 + floor(random() * counts.places)::int AS subject_n,
              CASE WHEN random() < 0.7 THEN NULL ELSE 1 + floor(random() * counts.places)::int END AS other_n,
              1 + floor(random() * 3)::int AS categories,
              random() AS r_special, random() AS r_confidential, random() AS r_priority,
              random() AS r_pool, random() AS r_pool_tail, random() AS r_route, random() AS r_units,
              random() AS r_unit_start, random() AS r_unit_a, random() AS r_unit_b,
              random() AS r_aks, random() AS r_aks_tail, random() AS r_mia, random() AS r_mia_wait,
              random() AS r_mia_tail, random() AS r_after,
              counts.total
       FROM counts, generate_series(1, counts.total) g),
     placed AS (
       SELECT c.*, base.id + c.g AS id, sp.place_id, sp.district_id, sp.province_id,
              coalesce(rp.district_id, sp.district_id) AS residence_district_id,
              coalesce(rp.province_id, sp.province_id) AS residence_province_id,
              now() - interval '730 days' * (1 - c.g::float / c.total) - interval '1 hour' * (1 + c.r_kind * 5)
                AS created_at,
              CASE WHEN c.r_pool_tail < 0.03 THEN 10 + 80 * c.r_pool ELSE 0.02 + 1.2 * -ln(1 - c.r_pool) END
                AS pool_days,
              pool.n AS pool_n
       FROM choice c
       CROSS JOIN base
       JOIN fill_place sp ON sp.n = c.subject_n
       LEFT JOIN fill_place rp ON rp.n = c.other_n
       JOIN fill_pool pool ON pool.province_id = sp.province_id),
     timed AS (
       SELECT p.*, p.created_at + interval '1 day' * p.pool_days * 0.5 AS flagged_at,
              p.created_at + interval '1 day' * p.pool_days AS routed_at
       FROM placed p),
     decided AS (
       SELECT t.*, t.flagged_at <= clock.now AS flagged, t.routed_at <= clock.now AS out_of_pool,
              -- routed, to how many units; a gizli one is never routed (workflow.ConfidentialNotRoutable)
              CASE WHEN t.r_confidential < 0.01 OR t.r_route < 0.07 OR t.pool_n = 0 THEN 0
                   ELSE least(t.pool_n, CASE WHEN t.r_units < 0.6 THEN 1 WHEN t.r_units < 0.88 THEN 2 ELSE 3 END)
              END AS planned_units
       FROM timed t CROSS JOIN fill_clock clock)
SELECT d.id::int AS id, d.g,
       CASE WHEN d.r_gender < 0.5 THEN 'ERKEK' ELSE 'KADIN' END AS gender,
       d.r_first, d.r_last, d.r_email, d.r_result,
       (ARRAY['TALEP', 'TALEP', 'TALEP', 'SIKAYET', 'SIKAYET', 'IHBAR', 'GORUS_ONERI'])[1 + floor(d.r_kind * 7)::int] AS kind,
       (ARRAY['WEB', 'WEB', 'WEB', 'WEB', 'MOBIL', 'EDEVLET', 'BANKO', 'CAGRI_MERKEZI'])[1 + floor(d.r_channel * 8)::int] AS channel,
       d.place_id, d.district_id, d.province_id, d.residence_district_id, d.residence_province_id,
       d.categories,
       CASE WHEN d.r_files < 0.12 THEN 1 WHEN d.r_files < 0.2 THEN 2 ELSE 0 END AS files,
       d.created_at,
       CASE WHEN d.flagged THEN d.flagged_at END AS flagged_at,
       d.flagged AND d.r_special < 0.02 AS is_special,
       d.flagged AND d.r_confidential < 0.01 AS is_confidential,
       CASE WHEN d.flagged AND d.r_priority < 0.05
            THEN (ARRAY['YASLI', 'YASLI', 'YASLI', 'ENGELLI', 'ENGELLI', 'GAZI', 'SEHIT_YAKINI', 'HAMILE'])[1 + floor(d.r_priority / 0.05 * 8)::int]
       END AS priority_group,
       d.routed_at,  -- routed then, or decided without routing then (sent to the MİA or closed)
       CASE WHEN d.out_of_pool THEN d.planned_units ELSE 0 END AS units,
       -- three different units of the pool: positions start, start + a and start + b (mod n), a <> b in 1..n-1
       floor(d.r_unit_start * d.pool_n)::int AS unit_start,
       1 + floor(d.r_unit_a * (d.pool_n - 1))::int AS unit_a,
       1 + floor(d.r_unit_b * greatest(d.pool_n - 2, 0))::int AS unit_b_rank,
       -- days the AKS takes to act on the units' answers; some are left for months
       CASE WHEN d.r_aks_tail < 0.06 THEN 15 + 250 * d.r_aks ELSE 0.05 + 1.5 * -ln(1 - d.r_aks) END AS aks_days,
       (d.flagged AND (d.r_special < 0.02 OR d.r_confidential < 0.01)) OR d.r_mia < 0.07 AS to_mia,
       CASE WHEN d.r_mia_tail < 0.05 THEN 15 + 90 * d.r_mia_wait ELSE 0.2 + 2 * -ln(1 - d.r_mia_wait) END AS mia_days,
       0.05 + -ln(1 - d.r_after) AS after_mia_days
FROM decided d;
ALTER TABLE fill_choice ADD PRIMARY KEY (id);
ANALYZE fill_choice;

-- The routings made so far, numbered in the order of their applications, with when each unit answered (and, for
-- some, when the AKS returned the answer and when the unit answered again), whether or not that moment has come.
CREATE TEMP TABLE fill_routing AS
WITH drawn AS (
  SELECT a.id AS application_id, a.province_id, pos,
         p.units[1 + (a.unit_start + CASE pos WHEN 1 THEN 0 WHEN 2 THEN a.unit_a
                                              ELSE a.unit_b_rank + (a.unit_b_rank >= a.unit_a)::int END) % p.n] AS unit_no,
         a.routed_at, random() AS r_delay, random() AS r_late, random() AS r_return, random() AS r_return_days,
         random() AS r_again, random() AS r_text
  FROM fill_choice a
  JOIN fill_pool p ON p.province_id = a.province_id
  CROSS JOIN LATERAL generate_series(1, a.units) pos
  ORDER BY a.id, pos
  OFFSET 0),
timed AS (
  SELECT d.*, (SELECT coalesce(max(id), 0) FROM routing) + row_number() OVER (ORDER BY d.application_id, d.pos) AS id,
         d.routed_at + interval '1 day' * CASE WHEN d.r_late < 0.78 THEN 0.3 + 7.5 * d.r_delay
                                                     WHEN d.r_late < 0.96 THEN 7 + 10 * d.r_delay
                                                     ELSE 15 + 150 * d.r_delay * d.r_delay END AS answered_at
  FROM drawn d)
SELECT t.id, t.application_id, t.province_id, t.pos, t.unit_no, u.yetkili_id, u.yetkili_label, t.routed_at,
       t.answered_at, t.r_text,
       CASE WHEN t.r_return < 0.06 THEN t.answered_at + interval '1 day' * (0.2 + 2 * t.r_return_days) END AS returned_at,
       CASE WHEN t.r_return < 0.06
            THEN t.answered_at + interval '1 day' * (0.2 + 2 * t.r_return_days + 0.5 + 5 * t.r_again) END AS reanswered_at
FROM timed t JOIN fill_unit u ON u.detsis_no = t.unit_no;
CREATE INDEX ON fill_routing (application_id);
ANALYZE fill_routing;

-- Per routed application: when its last unit answered for good, how many units it waits for now, the steps its
-- routings took so far, and the units named in its history's routing row.
CREATE TEMP TABLE fill_answered AS
SELECT r.application_id, max(coalesce(r.reanswered_at, r.answered_at)) AS all_answered_at,
       count(*) FILTER (WHERE clock.now < r.answered_at
                           OR (r.returned_at <= clock.now AND clock.now < r.reanswered_at)) AS waiting,
       sum((r.answered_at <= clock.now)::int + coalesce((r.returned_at <= clock.now)::int, 0)
           + coalesce((r.reanswered_at <= clock.now)::int, 0)) AS steps,
       string_agg(u.name, ', ' ORDER BY r.pos) AS unit_names
FROM fill_routing r JOIN fill_unit u ON u.detsis_no = r.unit_no CROSS JOIN fill_clock clock
GROUP BY r.application_id;

-- Every application with the rest of its life: the AKS acts on the answers (or decides without routing), the
-- MİA evaluates (özellikli and gizli ones always), it is closed; and its status now.
CREATE TEMP TABLE fill_app AS
WITH life AS (
  SELECT c.*, f.all_answered_at, coalesce(f.waiting, 0) AS waiting, coalesce(f.steps, 0) AS routing_steps,
         f.unit_names,
         CASE WHEN c.units > 0 THEN f.all_answered_at + interval '1 day' * c.aks_days ELSE c.routed_at END AS acted_at
  FROM fill_choice c LEFT JOIN fill_answered f ON f.application_id = c.id),
closing AS (
  SELECT l.*, CASE WHEN l.to_mia THEN l.acted_at END AS sent_at,
         CASE WHEN l.to_mia THEN l.acted_at + interval '1 day' * l.mia_days END AS reviewed_at,
         CASE WHEN l.to_mia THEN l.acted_at + interval '1 day' * (l.mia_days + l.after_mia_days)
              ELSE l.acted_at END AS closed_at
  FROM life l)
SELECT c.*,
       CASE WHEN clock.now < c.routed_at THEN 'HAVUZDA'
            WHEN c.units > 0 AND clock.now < c.all_answered_at
              THEN CASE WHEN c.waiting > 0 THEN 'YONLENDIRILDI' ELSE 'CEVAPLANDI' END
            WHEN c.units > 0 AND clock.now < c.acted_at THEN 'CEVAPLANDI'
            WHEN c.to_mia AND clock.now < c.reviewed_at THEN 'MIA_ONAYINDA'
            WHEN c.to_mia AND clock.now < c.closed_at THEN 'MIA_DEGERLENDIRDI'
            ELSE 'SONUCLANDI' END AS status,
       CASE WHEN clock.now >= c.closed_at
            THEN (ARRAY['OLUMLU', 'OLUMLU', 'OLUMLU', 'OLUMSUZ', 'OLUMSUZ', 'KISMEN'])[1 + floor(c.r_result * 6)::int]
       END AS result,
       -- the version counts the steps: registration, flags, routing, the routings' own, MİA, close
       1 + (c.flagged_at IS NOT NULL AND (c.is_special OR c.is_confidential OR c.priority_group IS NOT NULL))::int
         + (c.units > 0)::int + c.routing_steps + coalesce((c.sent_at <= clock.now)::int, 0)
         + coalesce((c.reviewed_at <= clock.now)::int, 0) + (c.closed_at <= clock.now)::int AS version
FROM closing c CROSS JOIN fill_clock clock;
ALTER TABLE fill_app ADD PRIMARY KEY (id);
ANALYZE fill_app;
DROP TABLE fill_choice, fill_answered;

INSERT INTO application (
  id, tracking_no, kind, channel, status, result, answer, applicant_tckn, applicant_first_name, applicant_last_name,
  applicant_birth_date, applicant_gender, residence_address, residence_province_id, residence_district_id,
  subject_address, subject_province_id, subject_district_id, subject_place_id, phone, email, subject,
  arrival_date, is_special, is_confidential, priority_group, created_by_id, created_at, version)
SELECT a.id, nextval('application_tracking_no_seq'), a.kind, a.channel, a.status, a.result,
       CASE a.result WHEN 'OLUMLU' THEN co.words[1 + a.id % 3] WHEN 'OLUMSUZ' THEN cn.words[1 + a.id % 3]
                     WHEN 'KISMEN' THEN ck.words[1 + a.id % 2] END,
       (10000000000 + a.id::bigint * 7919 % 89999999999)::text,
       (CASE WHEN a.gender = 'ERKEK' THEN m.words ELSE f.words END)[1 + floor(a.r_first * 20)::int],
       l.words[1 + floor(a.r_last * 25)::int],
       date '1940-01-01' + (a.id::bigint * 104729 % 25000)::int,
       a.gender,
       s.words[1 + a.id % 15] || ' No: ' || (1 + a.id % 120) || ' Daire: ' || (1 + a.id % 16),
       a.residence_province_id, a.residence_district_id,
       s.words[1 + (a.id / 15) % 15] || ' No: ' || (1 + a.id % 90),
       a.province_id, a.district_id, a.place_id,
       '5' || lpad((a.id::bigint * 15485863 % 1000000000)::text, 9, '0'),
       CASE WHEN a.r_email < 0.35 THEN 'vatandas' || a.id || '@example.com' END,
       t.words[1 + a.id % 11] || ' ' || t.words[1 + (a.id / 11) % 11]
         || CASE WHEN a.id % 3 = 0 THEN ' ' || t.words[1 + (a.id / 7) % 11] ELSE '' END || ' ' || t.words[12],
       CASE WHEN a.channel = 'BANKO' THEN a.created_at::date END,
       a.is_special, a.is_confidential, a.priority_group,
       CASE WHEN a.channel = 'BANKO'  -- registered at the desk by the office's AKS
            THEN (SELECT o.aks_id FROM fill_office o WHERE o.province_id = a.province_id) END,
       a.created_at, a.version
FROM (SELECT * FROM fill_app ORDER BY id) a,
     (SELECT words FROM fill_word WHERE kind = 'first_male') m,
     (SELECT words FROM fill_word WHERE kind = 'first_female') f,
     (SELECT words FROM fill_word WHERE kind = 'last') l,
     (SELECT words FROM fill_word WHERE kind = 'street') s,
     (SELECT words FROM fill_word WHERE kind = 'sentence') t,
     (SELECT words FROM fill_word WHERE kind = 'closing_OLUMLU') co,
     (SELECT words FROM fill_word WHERE kind = 'closing_OLUMSUZ') cn,
     (SELECT words FROM fill_word WHERE kind = 'closing_KISMEN') ck
;
SELECT setval('application_id_seq', (SELECT max(id) FROM application));

-- The routings as they stand now: waiting (OPEN, or RETURNED with the reason), or ANSWERED by the unit's Yetkili.
-- Due on the 7th weekday after the day routed: Monday to Wednesday and Sunday + 9, Saturday + 10, Thursday and
-- Friday + 11 (holidays ignored).
INSERT INTO routing (id, application_id, unit_no, status, due_date, created_by_id, created_at, answer,
                     answered_by_id, answered_at, return_reason, version)
SELECT r.id, r.application_id, r.unit_no,
       CASE WHEN r.now < r.answered_at THEN 'OPEN'
            WHEN r.returned_at <= r.now AND r.now < r.reanswered_at THEN 'RETURNED'
            ELSE 'ANSWERED' END,
       r.routed_day + CASE extract(isodow FROM r.routed_day) WHEN 4 THEN 11 WHEN 5 THEN 11 WHEN 6 THEN 10 ELSE 9 END,
       o.aks_id, r.routed_at,
       CASE WHEN r.reanswered_at <= r.now
              THEN (SELECT words FROM fill_word WHERE kind = 'unit_answer')[1 + (floor(r.r_text * 8)::int + 1) % 8]
            WHEN r.answered_at <= r.now
              THEN (SELECT words FROM fill_word WHERE kind = 'unit_answer')[1 + floor(r.r_text * 8)::int] END,
       CASE WHEN r.answered_at <= r.now THEN r.yetkili_id END,
       CASE WHEN r.reanswered_at <= r.now THEN r.reanswered_at WHEN r.answered_at <= r.now THEN r.answered_at END,
       CASE WHEN r.returned_at <= r.now THEN (SELECT words FROM fill_word WHERE kind = 'return_reason')[1 + r.id % 3] END,
       1 + (r.answered_at <= r.now)::int + coalesce((r.returned_at <= r.now)::int, 0)
         + coalesce((r.reanswered_at <= r.now)::int, 0)
FROM (SELECT fill_routing.*, (routed_at AT TIME ZONE 'Europe/Istanbul')::date AS routed_day,
             (SELECT now FROM fill_clock) AS now
      FROM fill_routing) r
JOIN fill_office o ON o.province_id = r.province_id;
SELECT setval(pg_get_serial_sequence('routing', 'id'), max(id)) FROM routing HAVING max(id) IS NOT NULL;

INSERT INTO application_category (application_id, position, category_id, subcategory_id, description)
SELECT pick.application_id, pick.pos, s.category_id, s.subcategory_id,
       CASE WHEN pick.r_description < 0.4 THEN 'Ayrıntılar başvuru konusunda belirtilmiştir (' || pick.pos || ').' END
FROM (SELECT a.id AS application_id, pos,
             1 + floor(random() * (SELECT count(*) FROM fill_subcategory))::int AS n, random() AS r_description
      FROM fill_app a CROSS JOIN LATERAL generate_series(1, a.categories) pos
      OFFSET 0) pick
JOIN fill_subcategory s ON s.n = pick.n
ORDER BY pick.application_id, pick.pos;

-- The history, in order: registration (by the citizen, or at the desk by the AKS), flags, routing, the units'
-- answers (and the AKS's returns), the MİA, the close. An answer leaves the application Cevaplandı when no
-- routing waits any more: its number of units, minus the answers and plus the returns so far (a running sum).
INSERT INTO application_event (application_id, action, status, note, actor_id, actor_label, actor_role, public,
                               routing_id, created_at)
SELECT a.id, e.action,
       CASE WHEN e.action = 'ANSWERED'
            THEN CASE WHEN a.units + sum(e.waiting) OVER w > 0 THEN 'YONLENDIRILDI' ELSE 'CEVAPLANDI' END
            ELSE e.status END,
       e.note, e.actor_id, e.actor_label, e.actor_role, e.public, e.routing_id, e.at
FROM fill_app a
JOIN fill_office o ON o.province_id = a.province_id
CROSS JOIN LATERAL (
  SELECT v.*
  FROM (VALUES
    (a.created_at, 'SUBMITTED', 'HAVUZDA', NULL::text, CASE WHEN a.channel = 'BANKO' THEN o.aks_id END,
     CASE WHEN a.channel = 'BANKO' THEN o.aks_label ELSE 'Vatandaş' END, CASE WHEN a.channel = 'BANKO' THEN 'AKS' END,
     true, NULL::int, 0),
    (CASE WHEN a.is_special OR a.is_confidential OR a.priority_group IS NOT NULL THEN a.flagged_at END,
     'FLAGS_SET', 'HAVUZDA',
     'Özellikli: ' || CASE WHEN a.is_special THEN 'Evet' ELSE 'Hayır' END
       || ', Gizli: ' || CASE WHEN a.is_confidential THEN 'Evet' ELSE 'Hayır' END
       || ', Öncelikli grup: ' || CASE a.priority_group WHEN 'SEHIT_YAKINI' THEN 'Şehit Yakını' WHEN 'GAZI' THEN 'Gazi'
                                    WHEN 'YASLI' THEN '65 Yaş Üstü' WHEN 'HAMILE' THEN 'Hamile'
                                    WHEN 'ENGELLI' THEN 'Engelli' ELSE 'Yok' END,
     o.aks_id, o.aks_label, 'AKS', false, NULL, 0),
    (CASE WHEN a.units > 0 THEN a.routed_at END, 'ROUTED', 'YONLENDIRILDI', a.unit_names,
     o.aks_id, o.aks_label, 'AKS', true, NULL, 0),
    (a.sent_at, 'SENT_TO_MIA', 'MIA_ONAYINDA',
     CASE WHEN a.is_special THEN 'Özellikli başvuru; değerlendirmelerinize arz ederim.' END,
     o.aks_id, o.aks_label, 'AKS', false, NULL, 0),
    (a.reviewed_at, 'MIA_REVIEWED', 'MIA_DEGERLENDIRDI', (SELECT words FROM fill_word WHERE kind = 'mia_note')[1 + a.id % 4],
     o.mia_id, o.mia_label, 'MIA', false, NULL, 0),
    (a.closed_at, 'CLOSED', 'SONUCLANDI',
     'Sonuç: ' || CASE a.result WHEN 'OLUMLU' THEN 'Olumlu' WHEN 'OLUMSUZ' THEN 'Olumsuz'
                                ELSE 'Kısmen Olumlu Kısmen Olumsuz' END,
     o.aks_id, o.aks_label, 'AKS', true, NULL, 0)
  ) v(at, action, status, note, actor_id, actor_label, actor_role, public, routing_id, waiting)
  WHERE v.at <= (SELECT now FROM fill_clock)
  UNION ALL
  SELECT x.*
  FROM fill_routing r
  CROSS JOIN LATERAL (VALUES
    (r.answered_at, 'ANSWERED', NULL::text,
     (SELECT words FROM fill_word WHERE kind = 'unit_answer')[1 + floor(r.r_text * 8)::int],
     r.yetkili_id, r.yetkili_label, 'YETKILI', false, r.id, -1),
    (r.returned_at, 'ANSWER_RETURNED', 'YONLENDIRILDI',
     (SELECT words FROM fill_word WHERE kind = 'return_reason')[1 + r.id % 3],
     o.aks_id, o.aks_label, 'AKS', false, r.id, 1),
    (r.reanswered_at, 'ANSWERED', NULL,
     (SELECT words FROM fill_word WHERE kind = 'unit_answer')[1 + (floor(r.r_text * 8)::int + 1) % 8],
     r.yetkili_id, r.yetkili_label, 'YETKILI', false, r.id, -1)
  ) x(at, action, status, note, actor_id, actor_label, actor_role, public, routing_id, waiting)
  WHERE r.application_id = a.id AND x.at <= (SELECT now FROM fill_clock)
) e
WINDOW w AS (PARTITION BY a.id ORDER BY e.at ROWS UNBOUNDED PRECEDING)
ORDER BY a.id, e.at;

INSERT INTO attachment (application_id, storage_key, file_name, content_type, size, sha256, uploaded_by_id,
                        uploaded_at)
SELECT a.id, md5('bench-file-' || a.id || '-' || k) || md5('bench-key-' || a.id || '-' || k),
       CASE k WHEN 1 THEN 'dilekce.pdf' ELSE 'fotograf_' || k || '.jpg' END,
       CASE k WHEN 1 THEN 'application/pdf' ELSE 'image/jpeg' END,
       20000 + a.id * 31 % 2000000,
       encode(sha256(convert_to('bench-content-' || a.id || '-' || k, 'UTF8')), 'hex'),
       CASE WHEN a.channel = 'BANKO' THEN o.aks_id END,
       a.created_at + interval '1 second' * k
FROM fill_app a
JOIN fill_office o ON o.province_id = a.province_id
CROSS JOIN LATERAL generate_series(1, a.files) k
ORDER BY a.id, k;

INSERT INTO outbox_message (phone, template, params, priority, status, attempts, next_attempt_at, created_at,
                            sent_at)
SELECT ap.phone, 'takip_numarasi',
       jsonb_build_object('ad', ap.applicant_first_name || ' ' || ap.applicant_last_name, 'takip_no', ap.tracking_no),
       0, 'SENT', 1, ap.created_at, ap.created_at, ap.created_at + interval '2 seconds'
FROM application ap JOIN fill_app a ON a.id = ap.id
ORDER BY ap.id;

-- Ended sessions (expired or signed out): the token index a bearer lookup searches is not a toy one.
INSERT INTO auth_session (token_hash, purpose, tckn, phone, application_id, created_at, last_seen_at, expires_at,
                          revoked_at)
SELECT sha256(convert_to('bench-ended-' || ap.id || '-' || k, 'UTF8')),
       CASE k WHEN 1 THEN 'APPLY' ELSE 'TRACK' END, ap.applicant_tckn, ap.phone, ap.id,
       ap.created_at + interval '1 day' * (k - 1), ap.created_at + interval '1 day' * (k - 1) + interval '5 minutes',
       ap.created_at + interval '1 day' * (k - 1) + interval '12 hours',
       CASE WHEN k = 2 THEN ap.created_at + interval '1 day' + interval '6 minutes' END
FROM application ap JOIN fill_app a ON a.id = ap.id
CROSS JOIN LATERAL generate_series(1, 1 + a.id % 2) k;

DO $$
DECLARE k record;
BEGIN
  FOR k IN SELECT * FROM fill_foreign_key ORDER BY on_table, name LOOP
    EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s', k.on_table, k.name, k.definition);
  END LOOP;
END $$;

DROP TABLE fill_app, fill_routing, fill_clock, fill_place, fill_subcategory, fill_word, fill_office, fill_unit,
           fill_pool, fill_foreign_key;
DROP FUNCTION pg_temp.fill_tckn(bigint), pg_temp.fill_name(text);
RESET work_mem;
COMMIT;
