FROM python:3.11-slim
WORKDIR /app
COPY . .
RUN pip install --no-cache-dir .
EXPOSE 8000
# With VILLAGEGRAPH_DATABASE_URL set, serve migrates that database (and seeds with --demo).
CMD ["villagegraph", "serve", "--host", "0.0.0.0", "--port", "8000", "--demo"]
