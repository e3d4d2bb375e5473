FROM python:3.11-slim
WORKDIR /app
COPY . .
# The service's pinned versions (requirements.lock, hashed; `bash scripts/lock` updates it).
RUN pip install --no-cache-dir -r requirements.lock && pip install --no-cache-dir --no-deps .
EXPOSE 8000
# No demo accounts unless asked (VILLAGEGRAPH_DEMO=true or `serve --demo`); no proxy headers
# trusted unless VILLAGEGRAPH_FORWARDED_ALLOW_IPS names the proxy. In docker-compose.yml a
# one-shot `migrate` service prepares the database with the admin URL and this service runs
# with --no-migrate, connecting as vg_request and vg_login only.
CMD ["villagegraph", "serve", "--host", "0.0.0.0", "--port", "8000", "--log-format", "json"]
