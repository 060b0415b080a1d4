# One image for both processes: `worker` (default) and `starter serve`.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -o /out/worker ./worker && \
    CGO_ENABLED=0 go build -trimpath -o /out/starter ./starter

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/worker /out/starter /usr/local/bin/
# Settings come from the environment at run time, secrets included (never
# baked into the image): SMS_PROVIDER, EMAIL_PROVIDER, PUSH_PROVIDER and each
# provider's variables (TWILIO_*, ALIYUN_*, SMTP_URL, MAIL_FROM, FCM_*),
# PUBLIC_BASE_URL, SMS_RATE, EMAIL_RATE, PUSH_RATE, DATABASE_URL, TEMPORAL_*;
# the API: API_TOKEN, INBOUND_TOKEN. See docs/PRODUCTION.md.
# Safe defaults only: the worker refuses to start until providers are chosen.
ENV METRICS_ADDR=0.0.0.0:9090 SMS_RATE=10 EMAIL_RATE=10 PUSH_RATE=50 LOG_FORMAT=json
# worker metrics; the API listens on 8080
EXPOSE 9090 8080
ENTRYPOINT ["/usr/local/bin/worker"]
