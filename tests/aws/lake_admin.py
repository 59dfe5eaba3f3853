"""Test helper for tests/aws/lake.rs: what aws_admin.py does not do.
Usage: lake_admin.py ENDPOINT COMMAND ARGS...

  create-bare-firehose NAME BUCKET PREFIX   a DirectPut stream created without CompressionFormat
  head-objects BUCKET PREFIX                per object: key, ServerSideEncryption, SSEKMSKeyId (JSON lines)
  duckdb-rows DIR                           every row of the Parquet files under DIR, read by DuckDB
                                            (the independent reader), as JSON lines; measurement_time
                                            as epoch milliseconds, decimals as numbers (ENDPOINT is
                                            not used)
  duckdb-types DIR                          each column's name and type as DuckDB reads them
"""
import decimal
import json
import sys

import boto3

endpoint, cmd, args = sys.argv[1], sys.argv[2], sys.argv[3:]
kw = dict(endpoint_url=endpoint, region_name="us-east-1",
          aws_access_key_id="test", aws_secret_access_key="test")

if cmd == "create-bare-firehose":
    boto3.client("firehose", **kw).create_delivery_stream(
        DeliveryStreamName=args[0], DeliveryStreamType="DirectPut",
        ExtendedS3DestinationConfiguration={
            "RoleARN": "arn:aws:iam::123456789012:role/firehose",
            "BucketARN": "arn:aws:s3:::" + args[1], "Prefix": args[2],
        })
elif cmd == "head-objects":
    s3 = boto3.client("s3", **kw)
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=args[0], Prefix=args[1]):
        for o in page.get("Contents", []):
            h = s3.head_object(Bucket=args[0], Key=o["Key"])
            print(json.dumps({"key": o["Key"], "sse": h.get("ServerSideEncryption"),
                              "kms_key": h.get("SSEKMSKeyId")}))
elif cmd == "duckdb-rows":
    import duckdb
    rel = duckdb.sql(
        "SELECT * EXCLUDE (measurement_time), epoch_ms(measurement_time) AS measurement_time "
        f"FROM read_parquet('{args[0]}/**/*.parquet')")
    # A DECIMAL is a Python Decimal: its exact value as the nearest double.
    number = lambda d: float(d) if isinstance(d, decimal.Decimal) else str(d)
    for row in rel.fetchall():
        print(json.dumps(dict(zip(rel.columns, row)), default=number))
elif cmd == "duckdb-types":
    import duckdb
    rel = duckdb.sql(f"FROM read_parquet('{args[0]}/**/*.parquet')")
    for name, ty in zip(rel.columns, rel.types):
        print(name, ty)
else:
    sys.exit("unknown command " + cmd)
