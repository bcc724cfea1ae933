-- deploy/compose.yaml: one database per service, owned by the compose file's PostgreSQL user, made at the first start.
CREATE DATABASE identity;
CREATE DATABASE canteen;
CREATE DATABASE childcare;
CREATE DATABASE billing;
CREATE DATABASE payment;
