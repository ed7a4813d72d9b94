-- A realistic volume for the benchmark (scripts/bench.py), on a migrated and seeded database.
--
-- current_setting('bench.applications') applications over the last two years, their subject and residence
-- addresses drawn from the real address records (so provinces with more neighbourhoods get more), 1-3
-- category rows each, 1-4 history events (some internal), an attachment row on about one in five, the
-- tracking-number SMS each one sent, and the ended sessions their applicants and trackers left behind.
-- Deterministic (setseed) and set-based: about ten seconds for 100,000 applications.
--
--   psql -v ON_ERROR_STOP=1 -c "SET bench.applications = 100000" -f scripts/bench_fill.sql acikkapi
-- then VACUUM ANALYZE (outside a transaction).

SELECT setseed(0.1612);

CREATE TEMP TABLE fill_place AS
SELECT row_number() OVER (ORDER BY p.id)::int AS n, p.id AS place_id, p.district_id, d.province_id
FROM place p JOIN district d ON d.id = p.district_id;

CREATE TEMP TABLE fill_subcategory AS
SELECT row_number() OVER (ORDER BY s.id)::int AS n, s.parent_id AS category_id, s.id AS subcategory_id
FROM service_category s JOIN service_category c ON c.id = s.parent_id
WHERE s.active AND c.active;

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
    'Gereğinin yapılmasını saygılarımla arz ederim.'])
;

-- One row per application to create, with every random choice made once.
CREATE TEMP TABLE fill_app AS
WITH base AS (SELECT coalesce(max(id), 0) AS id FROM application),
     counts AS (SELECT (SELECT count(*) FROM fill_place)::int AS places,
                       current_setting('bench.applications')::int AS total),
     choice AS MATERIALIZED (
       SELECT g, random() AS r_gender, random() AS r_first, random() AS r_last, random() AS r_kind,
              random() AS r_channel, random() AS r_email, random() AS r_result, random() AS r_files,
              1 + floor(random() * counts.places)::int AS subject_n,
              CASE WHEN random() < 0.7 THEN NULL ELSE 1 + floor(random() * counts.places)::int END AS other_n,
              1 + floor(random() * 3)::int AS categories,
              1 + floor(random() * 4)::int AS events,
              counts.total
       FROM counts, generate_series(1, counts.total) g)
SELECT (base.id + c.g)::int AS id,
       CASE WHEN c.r_gender < 0.5 THEN 'ERKEK' ELSE 'KADIN' END AS gender,
       c.r_first, c.r_last, c.r_email, c.r_result,
       (ARRAY['TALEP', 'TALEP', 'TALEP', 'SIKAYET', 'SIKAYET', 'IHBAR', 'GORUS_ONERI'])[1 + floor(c.r_kind * 7)::int] AS kind,
       (ARRAY['WEB', 'WEB', 'WEB', 'WEB', 'MOBIL', 'EDEVLET', 'BANKO', 'CAGRI_MERKEZI'])[1 + floor(c.r_channel * 8)::int] AS channel,
       sp.place_id, sp.district_id, sp.province_id,
       coalesce(rp.district_id, sp.district_id) AS residence_district_id,
       coalesce(rp.province_id, sp.province_id) AS residence_province_id,
       c.categories, c.events,
       CASE WHEN c.r_files < 0.12 THEN 1 WHEN c.r_files < 0.2 THEN 2 ELSE 0 END AS files,
       now() - interval '730 days' * (1 - c.g::float / c.total) - interval '1 hour' * (1 + c.r_kind * 5) AS created_at
FROM choice c
CROSS JOIN base
JOIN fill_place sp ON sp.n = c.subject_n
LEFT JOIN fill_place rp ON rp.n = c.other_n;

INSERT INTO application (
  id, tracking_no, kind, channel, status, result, applicant_tckn, applicant_first_name, applicant_last_name,
  applicant_birth_date, applicant_gender, residence_address, residence_province_id, residence_district_id,
  subject_address, subject_province_id, subject_district_id, subject_place_id, phone, email, subject,
  arrival_date, created_by_id, created_at)
SELECT a.id, nextval('application_tracking_no_seq'), a.kind, a.channel,
       (ARRAY['HAVUZDA', 'YONLENDIRILDI', 'CEVAPLANDI', 'SONUCLANDI'])[a.events],
       CASE WHEN a.events = 4 THEN (ARRAY['OLUMLU', 'OLUMSUZ', 'KISMEN'])[1 + floor(a.r_result * 3)::int] END,
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
       NULL,
       a.created_at
FROM (SELECT * FROM fill_app ORDER BY id) a,
     (SELECT words FROM fill_word WHERE kind = 'first_male') m,
     (SELECT words FROM fill_word WHERE kind = 'first_female') f,
     (SELECT words FROM fill_word WHERE kind = 'last') l,
     (SELECT words FROM fill_word WHERE kind = 'street') s,
     (SELECT words FROM fill_word WHERE kind = 'sentence') t
;
SELECT setval('application_id_seq', (SELECT max(id) FROM application));

INSERT INTO application_category (application_id, position, category_id, subcategory_id, description)
SELECT pick.application_id, pick.pos, s.category_id, s.subcategory_id,
       CASE WHEN pick.r_description < 0.4 THEN 'Ayrıntılar başvuru konusunda belirtilmiştir (' || pick.pos || ').' END
FROM (SELECT a.id AS application_id, pos,
             1 + floor(random() * (SELECT count(*) FROM fill_subcategory))::int AS n, random() AS r_description
      FROM fill_app a CROSS JOIN LATERAL generate_series(1, a.categories) pos
      OFFSET 0) pick
JOIN fill_subcategory s ON s.n = pick.n
ORDER BY pick.application_id, pick.pos;

-- History: kaydedildi, then (internal) routed to a unit, answered, closed; the citizen sees some of it.
INSERT INTO application_event (application_id, action, status, note, actor_id, actor_label, public, created_at)
SELECT a.id, 'SUBMITTED', (ARRAY['HAVUZDA', 'YONLENDIRILDI', 'CEVAPLANDI', 'SONUCLANDI'])[step],
       CASE step WHEN 2 THEN 'İlgili birime yönlendirildi.'
                 WHEN 4 THEN 'Başvurunuz incelenmiş, gerekli işlemler yapılmıştır.' END,
       NULL,
       CASE WHEN step = 1 THEN 'Vatandaş' ELSE 'Açık Kapı Sorumlusu' END,
       step <> 2,
       a.created_at + interval '1 day' * (step - 1) * (1 + a.id % 5) + interval '1 minute' * step
FROM fill_app a CROSS JOIN LATERAL generate_series(1, a.events) step
ORDER BY a.id, step;

INSERT INTO attachment (application_id, storage_key, file_name, content_type, size, sha256, uploaded_at)
SELECT a.id, md5('bench-file-' || a.id || '-' || k) || md5('bench-key-' || a.id || '-' || k),
       CASE k WHEN 1 THEN 'dilekce.pdf' ELSE 'fotograf_' || k || '.jpg' END,
       CASE k WHEN 1 THEN 'application/pdf' ELSE 'image/jpeg' END,
       20000 + a.id * 31 % 2000000,
       encode(sha256(convert_to('bench-content-' || a.id || '-' || k, 'UTF8')), 'hex'),
       a.created_at + interval '1 second' * k
FROM fill_app a CROSS JOIN LATERAL generate_series(1, a.files) k
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

DROP TABLE fill_app, fill_place, fill_subcategory, fill_word;
