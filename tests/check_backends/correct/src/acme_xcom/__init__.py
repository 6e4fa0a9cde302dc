"""Acme's S3 XCom backend: set [core] xcom_backend = acme_xcom.backend.AcmeS3XComBackend."""
