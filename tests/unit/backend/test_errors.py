"""What a task's log says when a store fails: the clients' own exceptions, classified into what happened and
what to do, with the XCom and the URL named."""

from __future__ import annotations

import errno

import pytest
import redis.exceptions
from azure.core.exceptions import (ClientAuthenticationError, HttpResponseError, ResourceNotFoundError,
                                   ServiceRequestError)
from botocore.exceptions import ClientError, EndpointConnectionError, NoCredentialsError

from xcomlab import errors
from xcomlab.layout import XComIds

IDS = XComIds("etl", "manual__1", "extract", -1, "rows")
URL = "s3://aws_default@xcom/airflow-3.3.1/xcomlab/etl/manual__1/extract/-1/rows.json"


def client_error(code: str) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}}, "PutObject")


@pytest.mark.parametrize(("cause", "action", "what"), [
    (EndpointConnectionError(endpoint_url="http://s3:9000/xcom"), "write", "unreachable"),
    (redis.exceptions.ConnectionError("Error 111 connecting to redis:6379. Connection refused."), "read", "unreachable"),
    (ServiceRequestError("<urllib3 ...>: Failed to establish a new connection"), "write", "unreachable"),
    (client_error("NoSuchBucket"), "write", "does not exist"),
    (FileNotFoundError("http://fake-gcs:4443/upload/storage/v1/b/xcom-typo/o"), "write", "does not exist"),
    (ResourceNotFoundError("The specified container does not exist. ErrorCode:ContainerNotFound"), "write",
     "does not exist"),
    (client_error("InvalidAccessKeyId"), "write", "refused the credentials"),
    (NoCredentialsError(), "read", "refused the credentials"),
    (ClientAuthenticationError("Server failed to authenticate the request."), "write", "refused the credentials"),
    (redis.exceptions.AuthenticationError("invalid username-password pair"), "write", "refused the credentials"),
    (client_error("AccessDenied"), "write", "denied permission"),
    (PermissionError(13, "Permission denied"), "write", "denied permission"),
    (client_error("SlowDown"), "write", "throttling"),
    (redis.exceptions.OutOfMemoryError("command not allowed when used memory > 'maxmemory'."), "write", "full"),
    (OSError(28, "No space left on device"), "write", "full"),
    (RuntimeError("something else entirely"), "write", "the store failed"),
])
def test_a_store_failure_names_the_xcom_the_url_the_cause_and_what_to_do(cause, action, what):
    err = errors.store_failed(IDS, URL, action, cause)
    text = str(err)
    assert isinstance(err, errors.XComStoreError)
    assert text.startswith(f"{IDS}: cannot {action} {URL}: ")
    assert what in text and type(cause).__name__ in text
    assert ("Nothing was written." in text) == (action == "write")


def test_a_missing_object_on_read_is_not_called_a_missing_bucket():
    assert "does not exist" not in errors.store_fault(FileNotFoundError("gone"), "read")[0]


def test_a_wrapped_cause_is_classified_by_the_error_underneath():
    try:
        try:
            raise ConnectionRefusedError(111, "Connection refused")
        except ConnectionRefusedError as inner:
            raise RuntimeError("upload failed") from inner
    except RuntimeError as outer:
        assert errors.store_fault(outer)[0] == "the store is unreachable"


def test_the_clients_codes_decide_before_the_words_of_a_message():
    denied = ClientError({"Error": {"Code": "AccessDenied", "Message": "Connection refused by bucket policy"}},
                         "PutObject")
    assert errors.store_fault(denied, "write")[0] == "the store denied permission"  # not "unreachable"
    busy = HttpResponseError(message="Operation could not be completed within the specified time.")
    busy.error_code = "ServerBusy"
    assert errors.store_fault(busy)[0] == "the store is throttling requests"  # not "did not answer in time"
    assert errors.store_fault(OSError(errno.EROFS, "cannot write"), "write")[0] == "the store denied permission"
    # redis-py's AuthenticationError is a ConnectionError too: the more specific class wins
    assert errors.store_fault(redis.exceptions.AuthenticationError("no"))[0] == "the store refused the credentials"


def test_without_a_code_the_message_still_tells():
    wrapped = RuntimeError("upload failed: An error occurred (NoSuchBucket) when calling PutObject")
    assert errors.store_fault(wrapped, "write")[0] == "the bucket or container does not exist"


def test_a_status_azure_shares_between_a_bad_key_and_a_denial_yields_to_the_message():
    """Azure answers a bad account key with 403 (as it does a denial): the message tells them apart."""
    bad_key = HttpResponseError(message="Server failed to authenticate the request. Make sure the value of the "
                                        "Authorization header is formed correctly including the signature.")
    bad_key.status_code = 403
    assert errors.store_fault(bad_key, "write")[0] == "the store refused the credentials"
    denied = HttpResponseError(message="This request is not authorized to perform this operation.")
    denied.status_code = 403
    assert errors.store_fault(denied, "write")[0] == "the store denied permission"


def test_adlfs_permission_error_for_a_bad_key_is_the_credentials():
    """adlfs raises PermissionError from azure's 403 for a bad account key: the message tells, not the class."""
    try:
        try:
            raise HttpResponseError(message="Server failed to authenticate the request. Make sure the value of "
                                            "the Authorization header is formed correctly including the signature.")
        except HttpResponseError as azure:
            raise PermissionError("abfs://xcom/x.json") from azure
    except PermissionError as adlfs:
        assert errors.store_fault(adlfs, "write")[0] == "the store refused the credentials"


def test_azurites_authorization_failure_for_a_bad_key_is_the_credentials():
    bad_key = HttpResponseError(message="Server failed to authenticate the request.\nErrorCode:AuthorizationFailure")
    bad_key.error_code, bad_key.status_code = "AuthorizationFailure", 403
    assert errors.store_fault(bad_key, "write")[0] == "the store refused the credentials"
    denied = HttpResponseError(message="This request is not authorized to perform this operation.\n"
                                       "ErrorCode:AuthorizationFailure")
    denied.error_code, denied.status_code = "AuthorizationFailure", 403
    assert errors.store_fault(denied, "write")[0] == "the store denied permission"
