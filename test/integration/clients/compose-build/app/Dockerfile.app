FROM busybox
ARG GREETING=default
RUN echo "$GREETING" > /greeting
LABEL org.berth.test=compose-build
