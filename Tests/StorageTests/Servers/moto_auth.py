"""moto's S3 on loopback with signature checking, for StorageTests.

Starts moto on a free 127.0.0.1 port with INITIAL_NO_AUTH_ACTION_COUNT=3, so only the three IAM calls below
run unauthenticated: create a user, give it an allow-all policy, create its access key. Every later request
must carry a valid SigV4 signature. Prints one JSON line {port, access_key, secret_key, bucket} and serves
until stdin closes (the test process ending closes it).
"""
import json, os, socket, sys

os.environ["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"
try:
    import boto3
    from moto.server import ThreadedMotoServer
except ImportError as e:
    print(json.dumps({"error": f"moto[server] is not installed ({e}); run: pip install 'moto[server]'"}), flush=True)
    sys.exit(2)

sock = socket.socket(); sock.bind(("127.0.0.1", 0)); port = sock.getsockname()[1]; sock.close()
server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
server.start()
endpoint = f"http://127.0.0.1:{port}"
iam = boto3.client("iam", endpoint_url=endpoint, region_name="us-east-1",
                   aws_access_key_id="bootstrap", aws_secret_access_key="bootstrap")
iam.create_user(UserName="lodestone-test")
iam.put_user_policy(UserName="lodestone-test", PolicyName="all", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
key = iam.create_access_key(UserName="lodestone-test")["AccessKey"]
s3 = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                  aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"])
bucket = "lodestone-test"
s3.create_bucket(Bucket=bucket)
print(json.dumps({"port": port, "access_key": key["AccessKeyId"], "secret_key": key["SecretAccessKey"],
                  "bucket": bucket}), flush=True)
sys.stdin.read()
server.stop()
