"""Amazon MWAA's rules, reproduced: configuration options, startup script, requirements, plugins.zip.

Used by xcom-lab's MWAA mode (`entrypoint`) and its preflight (`preflight`, `make mwaa-validate`).
"""
