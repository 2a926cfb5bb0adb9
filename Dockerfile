# liveshop: one image for the app (`liveshop serve`) and the ingest process (`liveshop ingest`).
FROM node:20-bookworm-slim AS browser-libraries
WORKDIR /app
COPY package.json package-lock.json ./
# No install scripts: the only one, @scarf/scarf's (under swagger-ui-dist), reports usage.
RUN npm ci --no-audit --no-fund --ignore-scripts

FROM python:3.11-slim-bookworm
WORKDIR /app
COPY pyproject.toml README.md ./
COPY liveshop ./liveshop
RUN pip install --no-cache-dir -e .
COPY --from=browser-libraries /app/node_modules/hls.js/dist ./node_modules/hls.js/dist
# What /docs loads (liveshop/web/templates/api/docs.html).
COPY --from=browser-libraries /app/node_modules/swagger-ui-dist/swagger-ui-bundle.js \
     /app/node_modules/swagger-ui-dist/swagger-ui.css \
     /app/node_modules/swagger-ui-dist/favicon-32x32.png ./node_modules/swagger-ui-dist/
ENV LIVESHOP_MEDIA_DIR=/media
# No LIVESHOP_SECRET_KEY here: give one at run time (docker run -e, compose, a secret store);
# without a strong one the image refuses to serve.
EXPOSE 8000 8001 1935
CMD ["liveshop", "serve", "--host", "0.0.0.0", "--port", "8000"]
