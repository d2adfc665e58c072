# The Application Load Balancer: HTTPS (ACM certificate) to the tasks, HTTP
# redirected to HTTPS, /api/metrics kept off the internet (as nginx does in
# deploy/nginx/snippets/storekeep-locations.conf).
#
# Timings against storekeep's own (docs/configuration.md):
# - idle timeout 60 s, below http.keep_alive_idle_secs (75 s): the balancer
#   closes an idle connection before the node would, so it never reuses one
#   the node is closing;
# - health check on /api/health/ready, which answers within
#   database.acquire_timeout_ms (2 s), 503 while a node drains or its
#   database is down;
# - deregistration delay = drain_secs + grace_secs: ECS takes a leaving task
#   out of the target group first and waits this long before its SIGTERM, so
#   requests in flight get the same time the node itself would give them.

resource "aws_lb" "main" {
  # checkov:skip=CKV2_AWS_28:No WAF by default: storekeep rate-limits per client itself (50 requests/s, 5/s on sign-in, shared through Redis) and a managed rule set's cost and false positives are the operator's call; associate an aws_wafv2_web_acl with this ARN to add one
  name                       = local.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.lb.id]
  subnets                    = aws_subnet.public[*].id
  idle_timeout               = 60
  drop_invalid_header_fields = true
  enable_deletion_protection = var.load_balancer_deletion_protection

  access_logs {
    bucket  = aws_s3_bucket.logs.id
    prefix  = "alb"
    enabled = true
  }

  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_lb_target_group" "app" {
  name                 = local.name
  port                 = 8080
  protocol             = "HTTP"
  target_type          = "ip"
  vpc_id               = aws_vpc.main.id
  deregistration_delay = var.drain_secs + var.grace_secs

  health_check {
    path                = "/api/health/ready"
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 2
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.main.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = var.ssl_policy
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.app.arn
  }
}

resource "aws_lb_listener_certificate" "extra" {
  for_each        = toset(var.additional_certificate_arns)
  listener_arn    = aws_lb_listener.https.arn
  certificate_arn = each.value
}

resource "aws_lb_listener" "http" {
  load_balancer_arn = aws_lb.main.arn
  port              = 80
  protocol          = "HTTP"

  default_action {
    type = "redirect"

    redirect {
      protocol    = "HTTPS"
      port        = "443"
      status_code = "HTTP_301"
    }
  }
}

# Prometheus scrapes each task directly (inside the VPC), never through the
# balancer.
resource "aws_lb_listener_rule" "no_public_metrics" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 10

  condition {
    path_pattern {
      values = ["/api/metrics"]
    }
  }

  action {
    type = "fixed-response"

    fixed_response {
      # (a fixed response's content types are few: no problem+json)
      content_type = "application/json"
      status_code  = "404"
      message_body = "{\"type\":\"about:blank\",\"title\":\"Not Found\",\"status\":404}"
    }
  }
}
