#!/usr/bin/env bash
# Same contract as the official image's /entrypoint: bash/python run as given, anything else is
# `airflow <args>`.
case "${1:-}" in
  bash | python | python3) exec "$@" ;;
  *) exec airflow "$@" ;;
esac
