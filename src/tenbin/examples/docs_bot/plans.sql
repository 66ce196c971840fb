-- Kumo Notes plans, prices and limits: the database behind the docs bot's sql_query tool.
-- Prices are US dollars per seat per month; NULL means "no limit".

CREATE TABLE plans (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL UNIQUE,
  monthly_price_usd REAL NOT NULL,   -- per seat per month, billed monthly
  annual_price_usd REAL NOT NULL,    -- per seat per month, billed annually
  min_seats INTEGER NOT NULL,
  max_seats INTEGER,
  storage_gb_per_seat INTEGER NOT NULL,
  max_upload_mb INTEGER NOT NULL,
  version_history_days INTEGER,
  sso INTEGER NOT NULL,              -- 1 when SAML single sign-on is available
  scim INTEGER NOT NULL,
  support TEXT NOT NULL
);

INSERT INTO plans VALUES
  (1, 'Free',       0,  0,  1, 3,    2,   10,   7,    0, 0, 'community forum'),
  (2, 'Plus',       8,  7,  1, 50,   10,  100,  30,   0, 0, 'email, 2 business days'),
  (3, 'Business',   15, 12, 1, 500,  50,  1024, 180,  1, 0, 'email and chat, 1 business day'),
  (4, 'Enterprise', 25, 22, 20, NULL, 200, 5120, NULL, 1, 1, 'dedicated success manager, 1-hour response');

CREATE TABLE plan_limits (
  plan_id INTEGER NOT NULL REFERENCES plans(id),
  name TEXT NOT NULL,
  value INTEGER,                     -- NULL: unlimited
  unit TEXT NOT NULL,
  PRIMARY KEY (plan_id, name)
);

INSERT INTO plan_limits VALUES
  (1, 'api_requests_per_minute', 60, 'requests/minute'),
  (2, 'api_requests_per_minute', 300, 'requests/minute'),
  (3, 'api_requests_per_minute', 1000, 'requests/minute'),
  (4, 'api_requests_per_minute', 3000, 'requests/minute'),
  (1, 'webhook_endpoints', 0, 'endpoints'),
  (2, 'webhook_endpoints', 5, 'endpoints'),
  (3, 'webhook_endpoints', 50, 'endpoints'),
  (4, 'webhook_endpoints', 200, 'endpoints'),
  (1, 'guests', 0, 'guests'),
  (2, 'guests', 10, 'guests'),
  (3, 'guests', 100, 'guests'),
  (4, 'guests', NULL, 'guests'),
  (1, 'audit_log_days', 0, 'days'),
  (2, 'audit_log_days', 0, 'days'),
  (3, 'audit_log_days', 90, 'days'),
  (4, 'audit_log_days', 730, 'days'),
  (3, 'uptime_sla_percent_x100', 9990, 'percent x 100'),
  (4, 'uptime_sla_percent_x100', 9995, 'percent x 100');

CREATE TABLE regions (
  code TEXT PRIMARY KEY,
  name TEXT NOT NULL,
  city TEXT NOT NULL,
  min_plan_id INTEGER NOT NULL REFERENCES plans(id)  -- cheapest plan that may store data here
);

INSERT INTO regions VALUES
  ('us-east', 'United States', 'Virginia', 1),
  ('eu-central', 'European Union', 'Frankfurt', 3),
  ('ap-northeast', 'Japan', 'Tokyo', 4),
  ('au-southeast', 'Australia', 'Sydney', 4);

CREATE TABLE addons (
  name TEXT PRIMARY KEY,
  price_usd REAL NOT NULL,
  unit TEXT NOT NULL,
  min_plan_id INTEGER NOT NULL REFERENCES plans(id),
  included_in_plan_id INTEGER REFERENCES plans(id),
  description TEXT NOT NULL
);

INSERT INTO addons VALUES
  ('AI Assist', 5, 'per seat per month', 2, NULL, 'summaries, translation and writing help'),
  ('Extra storage', 10, 'per 100 GB per month', 2, NULL, '100 GB more workspace storage'),
  ('Advanced audit log', 4, 'per seat per month', 3, 4, '2-year audit log and SIEM streaming'),
  ('Premium support', 500, 'per month', 3, 4, '4-hour response and a named support engineer');
